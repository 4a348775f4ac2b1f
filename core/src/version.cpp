#include "bg/version.h"

namespace bg {

const char* version() { return BG_VERSION_STRING; }

}  // namespace bg
