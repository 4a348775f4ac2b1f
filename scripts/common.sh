# Shared by scripts/demo and scripts/test: install what is missing, configure and build.

# Debian packages the build needs.
BG_PACKAGES=(cmake ninja-build g++ ccache libeigen3-dev libtbb-dev doctest-dev zlib1g-dev
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

# bg_build <build dir> <cmake args...>: configure with ninja (once) and build.
bg_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@"
  cmake --build "$dir" -j "${BG_JOBS:-2}"
}
