// ApiBackend: the gateway's implementation of web::ApiData — window results, the late log and
// rejected samples through a small pool of read-only ResultsReader connections (one per HTTP
// thread at a time), the live view through Ingest::Inspect (rebuilt at most once a second, so
// HTTP load never holds the ingest lock for more than one copy per second), health from
// atomics. Also FeedPublisher: turns committed window changes into SSE events.
//
// Threading: ApiBackend's methods are called from HTTP worker threads concurrently;
// FeedPublisher is called by the ingest thread (Ingest's WindowListener).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/ingest/ingest.h"
#include "gateway/mqtt/mqtt_source.h"
#include "gateway/mqtt/uplink.h"
#include "storage/results_reader.h"
#include "web/api_data.h"
#include "web/event_feed.h"

namespace tidemark {

class ApiBackend final : public web::ApiData {
 public:
  // `uplink` is null without [output].
  ApiBackend(std::string db_path, Ingest& ingest, const MqttSource* mqtt, const Uplink* uplink,
             const Clock& clock);

  StatusOr<WindowPage> Windows(const WindowQuery& q) override;
  StatusOr<LatePage> Late(const LateQuery& q) override;
  StatusOr<RejectedPage> Rejected(const RejectedQuery& q) override;
  std::optional<std::int64_t> DatabaseBytes() override;
  std::shared_ptr<const web::LiveView> Live() override;
  web::HealthView Health() override;

 private:
  class Lease;
  StatusOr<std::unique_ptr<ResultsReader>> Acquire();
  void Release(std::unique_ptr<ResultsReader> reader);
  // One ResultsReader call on a pooled reader; a storage error becomes an Error.
  template <typename Page, typename Query>
  StatusOr<Page> Read(const Query& q, StatusOr<Page> (ResultsReader::*read)(const Query&));

  const std::string db_path_;
  Ingest& ingest_;
  const MqttSource* mqtt_;
  const Uplink* uplink_;
  const Clock& clock_;
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<ResultsReader>> idle_readers_;
  std::mutex live_mu_;
  std::shared_ptr<const web::LiveView> live_;
  Millis live_at_ = kNoTime;  // processing time live_ was taken
};

class FeedPublisher final : public WindowListener {
 public:
  explicit FeedPublisher(web::EventFeed& feed) : feed_(feed) {}
  bool WantsUpdates() const override { return feed_.HasReaders(); }
  void OnWindow(const PipelineSpec& spec, const WindowResult& window) override;

 private:
  web::EventFeed& feed_;
};

}  // namespace tidemark
