// Fault test (docs/TESTING.md): HTTP abuse while ingest runs. A publisher thread streams readings
// the whole time; raw loopback sockets then send oversized bodies (413, README "Security and
// limits"), hold connections open byte by byte (slowloris: more of them than http.threads plus
// streams), or open 200 connections at once. Meanwhile a well-behaved client must get an answer
// (200, or 429 from the overflow path) within a few seconds; afterwards the server is healthy and
// ingest was not disturbed: the stored windows equal the recomputation of every reading.
#include <gtest/gtest.h>

#include <cstring>

#include "tests/faults/fault_probe.h"

namespace tidemark::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

constexpr auto kWait = seconds(30);
constexpr int kWorkers = 4 + 8;  // http.threads + http.max_streams (defaults): the pool's workers
// Seconds a well-behaved client may wait: a slow client holds a worker at most for the server's
// request deadline (5 s, read_timeout_s), and queued ones whose deadline passed are dropped at
// once, so whoever waits behind them waits at most about that long.
constexpr double kAnswerWithin = 7.0;

std::string StatusLine(const std::string& reply) { return reply.substr(0, reply.find("\r\n")); }

class HttpAbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<Mosquitto>(dir_.path());
    ASSERT_TRUE(broker_->Start()) << broker_->Log();
    gw_ = std::make_unique<Gateway>(dir_.path(), broker_->url(), kFaultPipeline, "", "",
                                    HttpOn(port_));
    ASSERT_TRUE(gw_->Start()) << gw_->Log();
    // An hour of readings from 5 devices, 100 ms apart, starting two hours ago, published at
    // ~5,000 a second the whole time the abuse goes on.
    const std::int64_t base = FloorTo(NowMillis(), kFaultWindow) - 2 * 3'600'000;
    stream_ = std::make_unique<ReadingStream>(broker_->url(), "abuse-stream",
                                              MakeReadings(0, 36'000, 5, base, 100), 50,
                                              milliseconds(10));
    ASSERT_TRUE(stream_->Start());
  }
  void TearDown() override {
    if (HasFailure()) {
      dir_.Keep();
      std::fprintf(stderr, "http abuse test files kept in %s\n", dir_.path().c_str());
    }
  }

  // A well-behaved client, `probes` times every `every`: each GET must be answered (200, or 429
  // when the server says it is saturated) within kAnswerWithin. Returns how many got a 200.
  int ProbeWhile(int probes, milliseconds every, const std::string& path = "/livez") {
    int ok = 0;
    for (int i = 0; i < probes; ++i) {
      const HttpReply r = HttpGet(port_, path, milliseconds(static_cast<int>(kAnswerWithin * 1e3)));
      EXPECT_TRUE(r.status == 200 || r.status == 429)
          << path << " probe " << i << ": status " << r.status << " after " << r.seconds << " s";
      EXPECT_LE(r.seconds, kAnswerWithin) << path << " probe " << i;
      if (r.status == 200) ++ok;
      max_wait_ = std::max(max_wait_, r.seconds);
      std::this_thread::sleep_for(every);
    }
    return ok;
  }

  // The end of every test: the server answers at once, and every reading was counted once.
  void ExpectHealthyAndCountedOnce() {
    EXPECT_TRUE(Eventually([&] { return HttpGet(port_, "/readyz", seconds(1)).status == 200; },
                           seconds(10)))
        << "not healthy after the abuse";
    const HttpReply state = HttpGet(port_, "/api/v1/state", seconds(2));
    EXPECT_EQ(state.status, 200);
    EXPECT_LT(state.seconds, 1.0);
    ASSERT_TRUE(stream_->WaitDone(std::chrono::minutes(1)));
    const std::vector<Reading> published = stream_->published();
    ASSERT_TRUE(WaitForLogged(gw_->db_path(), static_cast<std::int64_t>(published.size()), kWait))
        << gw_->Log();
    EXPECT_TRUE(gw_->Running());
    EXPECT_EQ(gw_->Stop(), 0) << gw_->Log();
    EXPECT_EQ(DiffWindows(Recompute(published), StoredWindows(gw_->db_path())), "");
    std::fprintf(stderr, "longest wait of the well-behaved client: %.3f s\n", max_wait_);
  }

  TempDir dir_{"tidemark_abuse"};
  std::unique_ptr<Mosquitto> broker_;
  int port_ = FreeLoopbackPort();
  std::unique_ptr<Gateway> gw_;
  std::unique_ptr<ReadingStream> stream_;
  double max_wait_ = 0;
};

TEST_F(HttpAbuseTest, OversizedBodiesGet413AndTheConnectionCloses) {
  const std::string big = std::to_string(64 * 1024 + 1);
  const std::string requests[] = {
      "POST /api/v1/windows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + big + "\r\n\r\n",
      "PUT /api/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1048576\r\n\r\n",
      "GET /api/v1/windows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + big + "\r\n\r\n",
      "POST /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000000000\r\n\r\n",
  };
  for (const std::string& request : requests) {
    RawSocket s(port_);
    ASSERT_TRUE(s.connected());
    ASSERT_TRUE(s.Send(request));
    // The headers alone decide: the answer comes before any of the body is sent.
    const std::string reply = s.Receive(seconds(5), "\r\n\r\n");
    EXPECT_EQ(StatusLine(reply), "HTTP/1.1 413 Payload Too Large") << request;
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
    EXPECT_TRUE(Eventually([&] { return s.PeerClosed(); }, seconds(5))) << request;
  }
  // A client that sends its whole oversized body anyway (on a thread: the server answers and
  // closes meanwhile); the server must not take it in, and must keep serving.
  {
    RawSocket s(port_);
    ASSERT_TRUE(s.connected());
    std::thread sender([&] {
      s.Send("POST /api/v1/windows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4194304\r\n\r\n" +
             std::string(4 << 20, 'x'));
    });
    const std::string reply = s.Receive(seconds(5), "\r\n\r\n");
    sender.join();
    EXPECT_TRUE(reply.empty() || StatusLine(reply) == "HTTP/1.1 413 Payload Too Large") << reply;
  }
  // Under the limit but not a GET: 405, not 413, and the connection is not reused (its body
  // was never read: behind a proxy, the next request would be parsed from it).
  {
    RawSocket s(port_);
    ASSERT_TRUE(
        s.Send("POST /api/v1/windows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"));
    const std::string reply = s.Receive(seconds(5), "\r\n\r\n");
    EXPECT_EQ(StatusLine(reply), "HTTP/1.1 405 Method Not Allowed");
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
    EXPECT_TRUE(Eventually([&] { return s.PeerClosed(); }, seconds(6)));
  }
  // An over-long request line and header are refused too.
  for (const std::string& request : {"GET /api/v1/windows?device=" + std::string(20000, 'a') +
                                         " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                     "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
                                         std::string(20000, 'b') + "\r\n\r\n"}) {
    RawSocket s(port_);
    ASSERT_TRUE(s.Send(request));
    const std::string status = StatusLine(s.Receive(seconds(5), "\r\n\r\n"));
    EXPECT_TRUE(status.rfind("HTTP/1.1 4", 0) == 0 || status.empty()) << status;
    EXPECT_TRUE(Eventually([&] { return s.PeerClosed(); }, seconds(6)));
  }
  EXPECT_EQ(ProbeWhile(5, milliseconds(100)), 5);
  ExpectHealthyAndCountedOnce();
}

TEST_F(HttpAbuseTest, SlowClientsDoNotStarveWellBehavedOnes) {
  // Three times as many slow clients as workers, each trickling a header byte every 500 ms (well
  // inside the 5-s read timeout between bytes), for as long as the 12 probes take (~25 s).
  constexpr int kSlow = 3 * kWorkers;
  std::vector<std::unique_ptr<RawSocket>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<RawSocket>(port_));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->Send("GET /api/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> cut_off{0};
  // A sustained attack: a slow client that is cut off comes straight back.
  std::thread trickle([&] {
    while (!stop) {
      for (auto& s : slow) {
        if (!s->Send("a")) {
          ++cut_off;
          s = std::make_unique<RawSocket>(port_);
          s->Send("GET /api/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
        }
      }
      std::this_thread::sleep_for(milliseconds(500));
    }
  });
  const auto begin = Steady::now();
  const int answered = ProbeWhile(8, milliseconds(250));
  const int answered_api = ProbeWhile(4, milliseconds(250), "/api/v1/state");
  stop = true;
  trickle.join();
  std::fprintf(stderr,
               "%d slow clients for %.1f s: %d of them cut off; %d/8 /livez and %d/4 "
               "/api/v1/state probes answered 200\n",
               kSlow, std::chrono::duration<double>(Steady::now() - begin).count(), cut_off.load(),
               answered, answered_api);
  EXPECT_GT(answered + answered_api, 0) << "only 429s for a well-behaved client";
  EXPECT_GE(cut_off, kSlow) << "slow clients were not cut off";
  slow.clear();
  ExpectHealthyAndCountedOnce();
}

TEST_F(HttpAbuseTest, IdleConnectionsAreCutOff) {
  // Connections that never send a byte hold nothing for long: the keep-alive / read timeout
  // (5 s) closes them.
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 2 * kWorkers; ++i) idle.push_back(std::make_unique<RawSocket>(port_));
  ProbeWhile(10, milliseconds(200));
  for (auto& s : idle) EXPECT_TRUE(Eventually([&] { return s->PeerClosed(); }, seconds(15)));
  ExpectHealthyAndCountedOnce();
}

TEST_F(HttpAbuseTest, TwoHundredConnectionsAtOnceAreAnsweredOr429) {
  constexpr int kFlood = 200;
  // Each connects and sends its request at once, and none reads its answer before all have
  // sent (and none closes): for a moment 200 connections are open and waiting.
  std::thread probe([&] { ProbeWhile(10, milliseconds(100)); });
  const auto begin = Steady::now();
  std::vector<std::unique_ptr<RawSocket>> flood;
  for (int i = 0; i < kFlood; ++i) {
    flood.push_back(std::make_unique<RawSocket>(port_));
    ASSERT_TRUE(flood.back()->connected()) << "connection " << i;
    ASSERT_TRUE(flood.back()->Send(
        "GET /api/v1/windows?pipeline=faults HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  }
  const double seconds_connect = std::chrono::duration<double>(Steady::now() - begin).count();
  int ok = 0, saturated = 0, other = 0;
  for (auto& s : flood) {
    const std::string status = StatusLine(s->Receive(seconds(10), "\r\n"));
    if (status == "HTTP/1.1 200 OK") {
      ++ok;
    } else if (status == "HTTP/1.1 429 Too Many Requests") {
      ++saturated;
    } else {
      ++other;
      ADD_FAILURE() << "flood connection got \"" << status << "\" (" << std::strerror(s->error())
                    << ")";
    }
  }
  const double seconds_all = std::chrono::duration<double>(Steady::now() - begin).count();
  probe.join();
  std::fprintf(stderr,
               "%d connections at once (connected in %.2f s): %d answered 200, %d got 429, %d "
               "other, all in %.2f s\n",
               kFlood, seconds_connect, ok, saturated, other, seconds_all);
  EXPECT_EQ(ok + saturated, kFlood);
  EXPECT_GT(ok, 0);
  flood.clear();
  ExpectHealthyAndCountedOnce();
}

}  // namespace
}  // namespace tidemark::testing
