#include "gateway/decoder.h"

#include <gtest/gtest.h>
