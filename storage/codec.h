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

// A device's state. Checkpoints store it with empty fingerprint lists (they go to
// EncodeFingerprints rows); blobs written before schema 6 carry every fingerprint inline.
std::string EncodeDevice(const DeviceSnapshot& device);
bool DecodeDevice(std::string_view blob, DeviceSnapshot& out);

// The fingerprints of a device's windows, grouped by the window's start when they were taken
// (a session's start may move earlier later, by merging, but stays within it): for every window
// with fingerprints, its start, their count and the fingerprints. Empty when there are none.
std::string EncodeFingerprints(const DeviceSnapshot& device);
// Adds the groups of `blob` to the windows of `device` (sorted by start, as snapshots are): a
// group goes to the window starting at its start, else to the window containing it (a session
// that grew); a group no open window contains belongs to a window closed since, and is skipped.
// False on a malformed blob.
bool DecodeFingerprintsInto(std::string_view blob, DeviceSnapshot& device);

}  // namespace tidemark
