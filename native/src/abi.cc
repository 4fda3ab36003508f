// Compiled on its own with -Wpadded -Werror (see binding.gyp): if abi.h ever
// gains implicit padding on the host, the build fails here.
#include <linux/types.h>

#include "abi.h"
#include "abiLayout.h"
#include "abiTable.inc"

namespace hp::abi {
namespace {

static_assert(sizeof(struct hp_event_header) == 16, "the common header is 16 bytes");
static_assert(offsetof(struct hp_event_header, kind) == 0, "the kind tag is the first byte");
#define HP_MULTIPLE_OF_8(s) \
  static_assert(sizeof(struct s) % 8 == 0, "struct " #s " must be a multiple of 8 bytes");
HP_ABI_STRUCTS(HP_MULTIPLE_OF_8)
#undef HP_MULTIPLE_OF_8

// abiTable.inc (generated from abi.h at build time) lists every struct,
// field and enum constant; the values below come from the compiler.
#define HP_SIZE(s) {#s, sizeof(struct s)},
#define HP_FIELD(s, f) {#s "." #f, offsetof(struct s, f)},
#define HP_ENUM(e) {#e, static_cast<std::uint64_t>(e)},

const Entry kSizes[] = {HP_ABI_STRUCTS(HP_SIZE)};
const Entry kOffsets[] = {HP_ABI_FIELDS(HP_FIELD)};
const Entry kEnums[] = {HP_ABI_ENUMS(HP_ENUM)};

#undef HP_SIZE
#undef HP_FIELD
#undef HP_ENUM

}  // namespace

std::uint64_t Version() { return HP_ABI_VERSION; }
Table Sizes() { return {kSizes, sizeof(kSizes) / sizeof(kSizes[0])}; }
Table Offsets() { return {kOffsets, sizeof(kOffsets) / sizeof(kOffsets[0])}; }
Table Enums() { return {kEnums, sizeof(kEnums) / sizeof(kEnums[0])}; }

}  // namespace hp::abi
