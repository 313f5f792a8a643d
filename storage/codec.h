// Compact binary encodings for what storage/ persists as blobs: a logged Record (for replay)
// and a device's operator state (for checkpoints). Little-endian fixed-width fields; decoding
// checks every length and returns false on a truncated or malformed blob. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/record.h"
#include "engine/snapshot.h"

namespace tidemark {

// A Record that owns its strings (the decoded form of a logged record).
struct StoredRecord {
  std::string device;
  Millis event_time = 0;
  std::uint64_t payload_hash = 0;
  std::vector<std::string> names;
  std::vector<FieldValue> fields;  // names point into `names`
  Record view() const { return Record{device, event_time, payload_hash, fields}; }
};

std::string EncodeRecord(const Record& record);
bool DecodeRecord(std::string_view blob, StoredRecord& out);

std::string EncodeDevice(const DeviceSnapshot& device);
bool DecodeDevice(std::string_view blob, DeviceSnapshot& out);

}  // namespace tidemark
