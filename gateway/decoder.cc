#include "gateway/decoder.h"
