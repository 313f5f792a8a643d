#include "engine/window.h"

namespace tidemark {
namespace {

StatusOr<Millis> CheckSpan(const char* what, Millis value) {
  if (value <= 0)
    return Error{std::string(what) + " must be positive, got " + FormatDuration(value)};
  if (value > kMaxWindowSpan) {
    return Error{std::string(what) + " " + FormatDuration(value) + " is longer than the maximum " +
                 FormatDuration(kMaxWindowSpan)};
  }
  return value;
}

}  // namespace

StatusOr<WindowSpec> WindowSpec::Tumbling(Millis size, Millis offset) {
  return Sliding(size, size, offset);
}

StatusOr<WindowSpec> WindowSpec::Sliding(Millis size, Millis slide, Millis offset) {
  if (auto r = CheckSpan("window size", size); !r) return Error{r.error()};
  if (auto r = CheckSpan("slide", slide); !r) return Error{r.error()};
  if (slide > size) {
    return Error{"slide " + FormatDuration(slide) + " must not exceed the window size " +
                 FormatDuration(size)};
  }
  if ((size + slide - 1) / slide > kMaxWindowsPerRecord) {
    return Error{"window size " + FormatDuration(size) + " / slide " + FormatDuration(slide) +
                 " puts each record in more than " + std::to_string(kMaxWindowsPerRecord) +
                 " windows"};
  }
  WindowSpec spec;
  spec.kind = slide == size ? WindowKind::kTumbling : WindowKind::kSliding;
  spec.size = size;
  spec.slide = slide;
  spec.offset = FloorMod(offset, slide);
  return spec;
}

StatusOr<WindowSpec> WindowSpec::Session(Millis gap) {
  if (auto r = CheckSpan("session gap", gap); !r) return Error{r.error()};
  WindowSpec spec;
  spec.kind = WindowKind::kSession;
  spec.gap = gap;
  return spec;
}

std::string WindowSpec::Describe() const {
  std::string offset_text = offset != 0 ? " offset " + FormatDuration(offset) : "";
  switch (kind) {
    case WindowKind::kTumbling:
      return "tumbling " + FormatDuration(size) + offset_text;
    case WindowKind::kSliding:
      return "sliding " + FormatDuration(size) + " every " + FormatDuration(slide) + offset_text;
    case WindowKind::kSession:
      return "session gap " + FormatDuration(gap);
  }
  return "?";
}

}  // namespace tidemark
