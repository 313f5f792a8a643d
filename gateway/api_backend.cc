#include "gateway/api_backend.h"

#include <algorithm>

#include "web/api_json.h"

namespace tidemark {
namespace {

constexpr Millis kLiveMaxAge = kSecond;
constexpr std::size_t kIdleReadersMax = 16;

std::optional<Millis> Known(Millis t) {
  return t == kNoTime ? std::nullopt : std::optional<Millis>(t);
}

}  // namespace

// A reader borrowed from the pool for one call, returned afterwards.
class ApiBackend::Lease {
 public:
  Lease(ApiBackend& owner, std::unique_ptr<ResultsReader> reader)
      : owner_(owner), reader_(std::move(reader)) {}
  ~Lease() { owner_.Release(std::move(reader_)); }
  ResultsReader* operator->() { return reader_.get(); }
  ResultsReader& operator*() { return *reader_; }

 private:
  ApiBackend& owner_;
  std::unique_ptr<ResultsReader> reader_;
};

ApiBackend::ApiBackend(std::string db_path, Ingest& ingest, const MqttSource* mqtt,
                       const Uplink* uplink, const Clock& clock)
    : db_path_(std::move(db_path)), ingest_(ingest), mqtt_(mqtt), uplink_(uplink), clock_(clock) {}

StatusOr<std::unique_ptr<ResultsReader>> ApiBackend::Acquire() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<ResultsReader> r = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return r;
    }
  }
  auto opened = ResultsReader::Open(db_path_);
  if (!opened.ok()) return opened.status().Prefixed("storage: ");
  return std::make_unique<ResultsReader>(std::move(opened).value());
}

void ApiBackend::Release(std::unique_ptr<ResultsReader> reader) {
  std::lock_guard lock(readers_mu_);
  if (reader && idle_readers_.size() < kIdleReadersMax) idle_readers_.push_back(std::move(reader));
}

template <typename Page, typename Query>
StatusOr<Page> ApiBackend::Read(const Query& q,
                                StatusOr<Page> (ResultsReader::*read)(const Query&)) {
  auto reader = Acquire();
  if (!reader.ok()) return Error{reader.error()};
  Lease lease(*this, std::move(reader).value());
  auto page = ((*lease).*read)(q);
  if (!page.ok()) return page.status().Prefixed("storage: ");
  return std::move(page).value();
}

StatusOr<WindowPage> ApiBackend::Windows(const WindowQuery& q) {
  return Read(q, &ResultsReader::Windows);
}

StatusOr<LatePage> ApiBackend::Late(const LateQuery& q) { return Read(q, &ResultsReader::Late); }

StatusOr<RejectedPage> ApiBackend::Rejected(const RejectedQuery& q) {
  return Read(q, &ResultsReader::Rejected);
}

std::optional<std::int64_t> ApiBackend::DatabaseBytes() {
  auto reader = Acquire();
  if (!reader.ok()) return std::nullopt;
  Lease lease(*this, std::move(reader).value());
  auto bytes = lease->DatabaseBytes();
  if (!bytes.ok()) return std::nullopt;
  return *bytes;
}

std::shared_ptr<const web::LiveView> ApiBackend::Live() {
  std::lock_guard lock(live_mu_);
  const Millis now = clock_.Now();
  if (live_ && now >= live_at_ && now - live_at_ < kLiveMaxAge) return live_;
  auto view = std::make_shared<web::LiveView>();
  ingest_.Inspect([&](const Engine& engine) {
    view->taken_at = engine.clock().Now();
    view->total = engine.total();
    view->rejected = engine.rejected();
    const std::size_t n = engine.pipeline_count();
    for (std::size_t i = 0; i < n; ++i) {
      const WindowOperator& op = engine.pipeline(i);
      const PipelineMetrics m = op.Metrics();
      view->pipelines.push_back(
          {op.spec().name, Known(m.watermark), m.open_windows, m.state_bytes, m.counters});
    }
    const std::vector<DeviceStats>& all = engine.devices().all();
    view->devices.reserve(all.size());
    for (std::size_t id = 0; id < all.size(); ++id) {
      const DeviceStats& s = all[id];
      web::DeviceLive d;
      d.device = s.device;
      d.records = s.records;
      d.rejected = s.rejected;
      d.last_event_time = Known(s.last_event_time);
      d.last_arrival_time = Known(s.last_arrival_time);
      d.pipelines.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        if (auto sum = engine.pipeline(i).Summary(static_cast<DeviceId>(id))) {
          d.pipelines[i] = web::DevicePipelineLive{Known(sum->watermark), sum->records, sum->late,
                                                   sum->duplicates};
          d.late += sum->late;
        }
      }
      view->devices.push_back(std::move(d));
    }
  });
  std::sort(view->devices.begin(), view->devices.end(),
            [](const web::DeviceLive& a, const web::DeviceLive& b) { return a.device < b.device; });
  live_ = std::move(view);
  live_at_ = now;
  return live_;
}

web::HealthView ApiBackend::Health() {
  const IngestHealth& h = ingest_.health();
  web::HealthView v;
  v.storage_ok = h.storage_ok;
  v.mqtt_connected = mqtt_ && mqtt_->connected();
  v.clock.ok = h.clock_ok;
  v.clock.now = clock_.Now();
  v.clock.newest_commit = Known(h.newest_commit);
  v.messages = h.messages;
  v.redeliveries = h.redeliveries;
  v.storage_errors = h.storage_errors;
  v.last_commit = h.last_commit.load() == 0 ? std::nullopt : std::optional<Millis>(h.last_commit);
  v.commit_latency = ingest_.commit_latency().View();
  if (uplink_) {
    v.output = web::OutputView{uplink_->connected(),
                               std::max<std::int64_t>(0, h.outbox_newest - uplink_->acked()),
                               uplink_->published(), uplink_->set_aside()};
  }
  return v;
}

void FeedPublisher::OnWindow(const PipelineSpec& spec, const WindowResult& w) {
  WindowRow item{spec.name,
                 w.device,
                 w.window.start,
                 w.window.end,
                 w.final ? WindowStatus::kFinal : WindowStatus::kOpen,
                 w.final ? std::string(ClosedByName(w.closed_by)) : std::string(),
                 w.final ? std::optional<Millis>(w.closed_at) : std::nullopt,
                 w.records,
                 ValuesJson(spec, w.values)};
  feed_.Publish(web::WindowJsonText(item));
}

}  // namespace tidemark
