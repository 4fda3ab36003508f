// The event ABI (bpf/abi.h) as this compiler lays it out, as plain tables:
// abi.cc fills them with sizeof/offsetof and the enum constants themselves,
// abiExport.cc hands them to JavaScript so the TypeScript layout can be
// checked against them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hp::abi {

struct Entry {
  const char* name;
  std::uint64_t value;
};

struct Table {
  const Entry* entries;
  std::size_t count;
};

std::uint64_t Version();
Table Sizes();    // "hp_data_event" -> sizeof
Table Offsets();  // "hp_data_event.pos" -> offsetof
Table Enums();    // "HP_EVENT_DATA" -> 2

}  // namespace hp::abi
