# Shared by scripts/demo and scripts/test: install what is missing, configure, build and install.

# Debian packages the build needs (pkg-config: scripts/test builds a program with bayesgrad.pc).
BG_PACKAGES=(cmake ninja-build g++ ccache pkg-config libeigen3-dev libtbb-dev doctest-dev zlib1g-dev
  dataset-fashion-mnist libopenmpi-dev openmpi-bin)

bg_install_missing() {
  local missing=()
  for pkg in "${BG_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}

# ccache serves a compile from its cache when the compiler's input is the same, and the
# preprocessed input names the headers it includes by their paths: each build directory includes
# its own generated bg/version.h. Made relative to the build directory (ccache does it for the paths
# under this clone), they are the same in build/release and build/shared, so that scripts/test's
# shared build takes the static build's objects from the cache instead of compiling them again.
export CCACHE_BASEDIR
CCACHE_BASEDIR=$(pwd -P)

# bg_ccache_args: the CMake arguments that compile through ccache. bayesgrad picks ccache up by
# itself when it is the top-level project; projects that take it in (tests/consumer) get it from
# these.
bg_ccache_args() {
  command -v ccache >/dev/null && echo "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache"
  return 0
}

# bg_build <build dir> <cmake args...>: configure with ninja (once) and build.
bg_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@"
  cmake --build "$dir" -j "${BG_JOBS:-2}"
}

# bg_install <build dir> <prefix>: install a build (cmake --install) into <prefix>.
bg_install() {
  cmake --install "$1" --prefix "$2" >/dev/null
}
