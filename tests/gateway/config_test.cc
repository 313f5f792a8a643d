#include "gateway/config.h"

#include <gtest/gtest.h>
