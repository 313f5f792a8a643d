// Fault test (docs/TESTING.md): the disk under the state directory really fills up. The database
// lives on a small tmpfs the test mounts itself (root needed; CI runs as root; no mount is a
// failure, not a skip). Either a filler file leaves a little room or the tmpfs is remounted just
// above what is in use, and readings stream in until SQLite gets ENOSPC. The gateway must stall
// ingest (no acknowledgements, one error line), report not-ready on /readyz and the storage error
// on /api/v1/state and /metrics, and keep running; once space returns (the filler is deleted, or
// the tmpfs remounted bigger) it must resume by itself, without a restart. Finally every reading
// published was counted once: the stored windows equal the offline recomputation
// (fault_reference.h).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>

#include "tests/faults/fault_probe.h"

namespace tidemark::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kWait = seconds(30);
constexpr std::int64_t kMountBytes = 24 << 20;  // room for a few MB of WAL and database
constexpr std::int64_t kLeftFree = 256 << 10;   // what the filler leaves: a few thousand records
constexpr int kDevices = 5;

std::int64_t FreeBytes(const fs::path& dir) {
  struct statvfs s {};
  if (statvfs(dir.c_str(), &s) != 0) return -1;
  return static_cast<std::int64_t>(s.f_bavail) * static_cast<std::int64_t>(s.f_frsize);
}

// Writes zeros until the file system has `leave` bytes left (or ENOSPC).
void Fill(const fs::path& file, std::int64_t leave) {
  std::ofstream out(file, std::ios::binary);
  const std::string chunk(64 << 10, '\0');
  for (std::int64_t left = FreeBytes(file.parent_path()) - leave; left > 0 && out;
       left -= static_cast<std::int64_t>(chunk.size())) {
    out.write(chunk.data(),
              static_cast<std::streamsize>(std::min<std::int64_t>(left, std::ssize(chunk))));
    out.flush();
  }
}

class DiskFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory(mount_);
    const std::string options = "size=" + std::to_string(kMountBytes) + ",mode=0755";
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      FAIL() << "cannot mount a tmpfs on " << mount_ << ": " << std::strerror(errno)
             << " (the disk fault test needs root / CAP_SYS_ADMIN; CI runs as root)";
    }
    mounted_ = true;
    // The harness puts the database at dir/tidemark.db; SQLite follows the link, so the database,
    // its WAL and shared-memory file live on the small file system, the logs do not.
    fs::create_symlink(mount_ / "tidemark.db", dir_ / "tidemark.db");
    broker_ = std::make_unique<Mosquitto>(dir_.path());
    ASSERT_TRUE(broker_->Start()) << broker_->Log();
  }
  void TearDown() override {
    if (broker_) broker_->Stop();
    if (mounted_ && ::umount2(mount_.c_str(), MNT_DETACH) != 0) {
      ADD_FAILURE() << "umount " << mount_ << ": " << std::strerror(errno);
    }
    if (HasFailure()) {
      dir_.Keep();
      std::fprintf(stderr, "disk fault test files kept in %s\n", dir_.path().c_str());
    }
  }

  TempDir dir_{"tidemark_disk"};
  fs::path mount_ = dir_ / "state";
  bool mounted_ = false;
  std::unique_ptr<Mosquitto> broker_;

  // Remounts the tmpfs with another size limit (it cannot shrink below what is in use).
  bool Resize(std::int64_t bytes) {
    const std::string options = "size=" + std::to_string(bytes);
    return ::mount("tmpfs", mount_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

  // Streams readings into a gateway until the disk is full (`fill` runs once the first 2,000 are
  // committed), checks the stall, runs `make_room`, and checks that ingest resumes by itself and
  // that every reading was counted exactly once.
  void StallAndResume(const std::function<void()>& fill, const std::function<void()>& make_room);
};

void DiskFaultTest::StallAndResume(const std::function<void()>& fill,
                                   const std::function<void()>& make_room) {
  const int port = FreeLoopbackPort();
  Gateway gw(dir_.path(), broker_->url(), kFaultPipeline, "", "", HttpOn(port));
  ASSERT_TRUE(gw.Start()) << gw.Log();
  ASSERT_EQ(HttpGet(port, "/readyz").status, 200);

  // Two hours of readings, one every 100 ms of event time, ending an hour ago: windows close as
  // the global watermark passes them, and nothing is ahead of the clock.
  const std::int64_t base = FloorTo(NowMillis(), kFaultWindow) - 3 * 3'600'000;
  const std::vector<Reading> all = MakeReadings(0, 72'000, kDevices, base, 100);
  const std::vector<Reading> first(all.begin(), all.begin() + 2000);
  {
    ReadingStream warmup(broker_->url(), "disk-warmup", first, 200, milliseconds(0));
    ASSERT_TRUE(warmup.Start());
    ASSERT_TRUE(warmup.WaitDone(kWait));
  }
  ASSERT_TRUE(WaitForLogged(gw.db_path(), 2000, kWait)) << gw.Log();

  fill();
  const std::int64_t free_after_fill = FreeBytes(mount_);
  ReadingStream stream(broker_->url(), "disk-stream",
                       std::vector<Reading>(all.begin() + 2000, all.end()), 100, milliseconds(5));
  ASSERT_TRUE(stream.Start());

  ASSERT_TRUE(gw.process().WaitForLog("not acknowledging", kWait))
      << "ingest never failed on the full disk; free: " << FreeBytes(mount_) << "\n"
      << gw.Log();
  const auto stall_began = std::chrono::steady_clock::now();
  // Stalled: nothing more is committed (a checkpoint's rollback may leave room for a few small
  // commits first, so wait until the count stops moving).
  std::int64_t stalled_at = -1;
  ASSERT_TRUE(Eventually(
      [&] {
        const std::int64_t now = LoggedMessages(gw.db_path());
        const bool still = now == stalled_at;
        stalled_at = now;
        if (!still) std::this_thread::sleep_for(milliseconds(1400));
        return still;
      },
      kWait))
      << "ingest kept committing on a full disk";
  std::this_thread::sleep_for(milliseconds(2500));  // two retries, no progress
  EXPECT_EQ(LoggedMessages(gw.db_path()), stalled_at);
  EXPECT_LT(stalled_at, static_cast<std::int64_t>(all.size()));
  EXPECT_TRUE(gw.Running());

  // Not ready, and the storage error is visible.
  const HttpReply ready = HttpGet(port, "/readyz?verbose");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("[-]storage"), std::string::npos) << ready.body;
  EXPECT_EQ(HttpGet(port, "/livez").status, 200);
  const nlohmann::json state = HttpJson(port, "/api/v1/state");
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state["storage"]["ok"], false) << state.dump();
  EXPECT_GT(state["storage"]["errors"].get<std::int64_t>(), 0) << state.dump();
  const HttpReply metrics = HttpGet(port, "/metrics");
  EXPECT_EQ(MetricValue(metrics.body, "tidemark_storage_ok"), 0);
  EXPECT_GT(MetricValue(metrics.body, "tidemark_storage_errors_total"), 0);
  // Final windows already committed are still readable while the disk is full.
  EXPECT_EQ(HttpGet(port, "/api/v1/windows?pipeline=faults&status=final").status, 200);

  // Space returns: ingest resumes by itself, and everything still queued at the broker arrives.
  make_room();
  ASSERT_TRUE(gw.process().WaitForLog("commits succeed again", kWait)) << gw.Log();
  const double stalled_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stall_began).count();
  ASSERT_TRUE(stream.WaitDone(std::chrono::minutes(1)));
  ASSERT_TRUE(WaitForLogged(gw.db_path(), static_cast<std::int64_t>(all.size()), kWait))
      << LoggedMessages(gw.db_path()) << " of " << all.size() << "\n"
      << gw.Log();
  EXPECT_TRUE(Eventually([&] { return HttpGet(port, "/readyz").status == 200; }, seconds(5)));
  const nlohmann::json after = HttpJson(port, "/api/v1/state");
  ASSERT_TRUE(after.is_object());
  EXPECT_EQ(after["storage"]["ok"], true) << after.dump();
  EXPECT_EQ(after["messages"].get<std::int64_t>(), static_cast<std::int64_t>(all.size()))
      << after.dump();

  EXPECT_EQ(gw.Stop(), 0) << gw.Log();
  EXPECT_EQ(DiffWindows(Recompute(all), StoredWindows(gw.db_path())), "");
  std::fprintf(stderr,
               "disk full after %lld of %zu readings (%lld bytes free after the fill), stalled "
               "%.1f s\n",
               static_cast<long long>(stalled_at), all.size(),
               static_cast<long long>(free_after_fill), stalled_s);
}

// A filler file takes all but 256 KiB; deleting it gives the space back.
TEST_F(DiskFaultTest, FillerFileFillsTheDiskAndIsDeleted) {
  const fs::path filler = mount_ / "filler";
  StallAndResume(
      [&] {
        Fill(filler, kLeftFree);
        ASSERT_LT(FreeBytes(mount_), 2 * kLeftFree) << "the filler did not fill the file system";
      },
      [&] { fs::remove(filler); });
}

// The file system shrinks to just above what is in use; a remount makes it bigger again.
TEST_F(DiskFaultTest, SmallFileSystemFillsUpAndIsRemountedBigger) {
  StallAndResume(
      [&] {
        const std::int64_t used = kMountBytes - FreeBytes(mount_);
        ASSERT_TRUE(Resize(used + kLeftFree)) << "remount: " << std::strerror(errno);
      },
      [&] { ASSERT_TRUE(Resize(kMountBytes)) << "remount: " << std::strerror(errno); });
}

}  // namespace
}  // namespace tidemark::testing
