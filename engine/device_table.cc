#include "engine/device_table.h"

namespace tidemark {

DeviceId DeviceTable::Intern(std::string_view device) {
  if (auto it = ids_.find(device); it != ids_.end()) return it->second;
  const auto id = static_cast<DeviceId>(stats_.size());
  ids_.emplace(std::string(device), id);
  stats_.push_back(DeviceStats{std::string(device)});
  return id;
}

std::optional<DeviceId> DeviceTable::Find(std::string_view device) const {
  if (auto it = ids_.find(device); it != ids_.end()) return it->second;
  return std::nullopt;
}

}  // namespace tidemark
