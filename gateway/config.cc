#include "gateway/config.h"
