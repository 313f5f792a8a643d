#include "gateway/mqtt/uplink.h"

#include <mqtt/async_client.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "gateway/log/log.h"
#include "gateway/mqtt/mqtt_options.h"
#include "gateway/mqtt/topic_template.h"
#include "web/api_json.h"

namespace tidemark {
namespace {

constexpr auto kIdleWait = std::chrono::milliseconds(500);
constexpr auto kAckWait = std::chrono::seconds(30);
constexpr int kRefusalsBeforeSetAside = 3;  // refusals of one row in a row

std::string Dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

bool OutboxMessages::Window(const PipelineSpec& spec, const WindowResult& w, std::string& topic,
                            std::string& payload) const {
  topic = ExpandTopic(config_.topic, spec.name, w.device);
  payload = web::WindowJsonText({spec.name, w.device, w.window.start, w.window.end,
                                 WindowStatus::kFinal, std::string(ClosedByName(w.closed_by)),
                                 w.closed_at, w.records, ValuesJson(spec, w.values)});
  return true;
}

bool OutboxMessages::Late(const PipelineSpec& spec, const LateRecord& l, std::string& topic,
                          std::string& payload) const {
  if (!config_.late) return false;
  topic = ExpandTopic(config_.late_topic, spec.name, l.device);
  std::optional<Millis> watermark;
  if (l.watermark != kNoTime) watermark = l.watermark;
  payload = Dump(web::LateJson({0, spec.name, l.device, l.event_time, l.arrival_time, watermark,
                                l.missed.start, l.missed.end}));
  return true;
}

Uplink::Uplink(OutputConfig config, std::string db_path, std::int64_t acked)
    : config_(std::move(config)), outbox_(std::move(db_path)), acked_(acked) {}

Uplink::~Uplink() { Stop(); }

void Uplink::Start() {
  try {
    mqtt::create_options create(config_.connection.version == 5 ? MQTTVERSION_5
                                                                : MQTTVERSION_3_1_1);
    client_ = std::make_unique<mqtt::async_client>(config_.connection.broker,
                                                   config_.connection.client_id, create, nullptr);
    client_->set_connection_lost_handler([this](const std::string& cause) {
      connected_ = false;
      log::Warning("output: connection to " + config_.connection.broker + " lost" +
                   (cause.empty() ? "" : ": " + cause) + "; windows wait in the outbox");
      Wake();
    });
  } catch (const std::exception& e) {
    log::Error("output.broker: cannot use \"" + config_.connection.broker + "\": " + e.what());
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

void Uplink::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  Wake();
  thread_.join();
  try {
    if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const std::exception&) {
  }
}

void Uplink::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  wake_.notify_one();
}

bool Uplink::Connect() {
  try {
    auto options = ConnectOptionsFor(config_.connection, MqttSession::kClean);
    options.set_max_inflight(static_cast<int>(config_.max_inflight));
    client_->connect(options)->wait_for(std::chrono::seconds(15));
  } catch (const std::exception& e) {
    (void)e;
  }
  connected_ = client_->is_connected();
  return connected_;
}

void Uplink::Run() {
  Millis backoff = config_.connection.reconnect_min;
  bool warned = false;
  while (!stop_) {
    if (!client_->is_connected()) {
      if (!Connect()) {
        if (!warned) {
          log::Warning("output: cannot connect to " + config_.connection.broker +
                       "; retrying (windows wait in the outbox)");
          warned = true;
        }
        std::unique_lock lock(mu_);
        wake_.wait_for(lock, std::chrono::milliseconds(backoff), [this] { return stop_.load(); });
        backoff = std::min(backoff * 2, config_.connection.reconnect_max);
        continue;
      }
      log::Info("output: connected to " + config_.connection.broker +
                "; publishing from outbox entry " + std::to_string(acked_ + 1));
      warned = false;
      backoff = config_.connection.reconnect_min;
    }
    if (PublishBatch()) continue;
    std::unique_lock lock(mu_);
    if (!woken_) wake_.wait_for(lock, kIdleWait);
    woken_ = false;
  }
}

bool Uplink::ReadBatch(std::vector<OutboxRow>& rows) {
  return outbox_.Read(acked_.load(), config_.max_inflight, rows).ok();
}

bool Uplink::PublishBatch() {
  std::vector<OutboxRow> rows;
  if (!ReadBatch(rows)) return false;
  if (rows.empty()) return false;
  std::vector<mqtt::delivery_token_ptr> tokens;
  std::size_t i = 0;  // the row whose PUBACK is awaited
  try {
    for (const OutboxRow& r : rows) {
      tokens.push_back(client_->publish(r.topic, r.payload.data(), r.payload.size(), 1, false));
    }
    for (; i < tokens.size(); ++i) {
      // In short steps, so Stop() is never held up for long.
      const auto deadline = std::chrono::steady_clock::now() + kAckWait;
      while (!tokens[i]->wait_for(std::chrono::milliseconds(200))) {
        if (stop_) return false;
        if (std::chrono::steady_clock::now() > deadline) {
          throw mqtt::exception(MQTTASYNC_FAILURE, "no PUBACK within 30 s");
        }
      }
      acked_ = rows[i].id;
      ++published_;
    }
  } catch (const mqtt::exception& e) {
    // An MQTT 5 PUBACK with a failure reason (not authorized, topic invalid, too large, ...):
    // the same row again would be refused again, and everything behind it would wait forever.
    if (i < tokens.size() && e.get_reason_code() >= 0x80) Refused(rows[i], e.what());
    return Failed(e.what());
  } catch (const std::exception& e) {
    return Failed(e.what());
  }
  return true;
}

void Uplink::Refused(const OutboxRow& row, const std::string& why) {
  refusals_ = row.id == refused_id_ ? refusals_ + 1 : 1;
  refused_id_ = row.id;
  if (refusals_ < kRefusalsBeforeSetAside) return;
  log::Error("output: the upstream broker refused outbox entry " + std::to_string(row.id) +
             " (topic " + row.topic + ", " + std::to_string(row.payload.size()) + " bytes) " +
             std::to_string(refusals_) + " times (" + why +
             "): set aside, counted in output.set_aside of /api/v1/state");
  acked_ = row.id;
  ++set_aside_;
  refusals_ = 0;
}

bool Uplink::Failed(const std::string& why) {
  log::Warning("output: publish failed: " + why + "; resending from outbox entry " +
               std::to_string(acked_ + 1));
  try {
    client_->disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const std::exception&) {
  }
  connected_ = false;
  return false;
}

}  // namespace tidemark
