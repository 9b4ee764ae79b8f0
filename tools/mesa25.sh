#!/usr/bin/env bash
# Unpacks Mesa 25's lavapipe (Vulkan 1.4 on the CPU, from Debian's bookworm-backports) into a
# private folder, as a second Vulkan driver for the tests. Nothing is installed and the system's
# apt sources are not touched: a private apt state in DIR/apt lists only the backports suite of the
# mirror this system already uses, `apt-get download` fetches the .debs and `dpkg -x` unpacks them.
#   tools/mesa25.sh DIR     (default: build-mesa25/driver) prints, on its last line, the
#                           environment that selects the driver:
#                           VK_ICD_FILENAMES=DIR/lvp_icd.json LD_LIBRARY_PATH=DIR/root/usr/lib/<arch>
# Idempotent: a folder that already holds the driver is reused. Exits non-zero when it cannot
# fetch or unpack (no network, no backports suite on the mirror).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-mesa25/driver}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
libdir="$dir/root/usr/lib/$arch"
icd="$dir/lvp_icd.json"

if [ ! -f "$icd" ]; then
  # the mirror of the system's own bookworm suite (its URI, not a host written here)
  mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
    awk '$2 == "bookworm" {print $1; exit}')
  if [ -z "$mirror" ]; then
    echo "mesa25: the system's apt sources have no bookworm suite to take the mirror from" >&2
    exit 1
  fi
  apt_dir="$dir/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dir/debs"
  echo "deb ${mirror%/} bookworm-backports main" > "$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "Debug::NoLocking=1"
    -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")
  apt-get "${apt_opts[@]}" update -qq
  # lavapipe 25 needs libdrm ≥ 2.4.121 from the same suite
  (cd "$dir/debs" && apt-get "${apt_opts[@]}" download -qq \
    mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports \
    libdrm-amdgpu1/bookworm-backports libdrm-common/bookworm-backports)
  rm -rf "$dir/root"
  for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
  src_icd=$(find "$dir/root/usr/share/vulkan/icd.d" -name 'lvp_icd*.json' | head -n 1)
  lib=$(find "$libdir" -name 'libvulkan_lvp.so' | head -n 1)
  if [ -z "$src_icd" ] || [ -z "$lib" ]; then
    echo "mesa25: the unpacked packages hold no lavapipe ICD" >&2
    exit 1
  fi
  # the ICD file names the library by an absolute path, so the loader never picks the system's
  sed -E "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$lib\"#" "$src_icd" > "$icd.tmp"
  mv "$icd.tmp" "$icd"
  rm -rf "$apt_dir" "$dir/debs"
fi
echo "VK_ICD_FILENAMES=$icd LD_LIBRARY_PATH=$libdir"
