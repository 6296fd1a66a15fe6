// Fuzzes the JPEG/PNG decoder directly (the archive fuzzer rarely reaches deep into an image).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "data/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto image = cb::data::decode_image(data, size, "fuzz.img");
    if (image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
      __builtin_trap();
    std::vector<std::uint8_t> planar(3 * 8 * 8);
    cb::data::write_planar(image, 8, 8, planar.data());  // the resize path too
  } catch (const cb::InputError&) {
  }
  return 0;
}
