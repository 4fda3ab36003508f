#!/usr/bin/env python3
"""Lists every struct, field and enum constant of bpf/abi.h as X-macros.

abi.cc expands them with sizeof/offsetof and the constants themselves, so
the values come from the compiler and a field added to abi.h cannot be
forgotten by the addon's abi() export. Usage: abiTable.py abi.h out.inc
"""
import re
import sys


def main(source: str, output: str) -> None:
    text = open(source, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)

    structs = []  # (name, [fields])
    for match in re.finditer(r"\bstruct\s+(\w+)\s*\{(.*?)\}\s*;", text, flags=re.S):
        fields = []
        for declaration in match.group(2).split(";"):
            declaration = declaration.strip()
            if not declaration:
                continue
            field = re.match(r".*?(\w+)\s*(\[[^\]]*\])?$", declaration, flags=re.S)
            if not field:
                sys.exit(f"abiTable.py: cannot parse '{declaration}' in struct {match.group(1)}")
            fields.append(field.group(1))
        structs.append((match.group(1), fields))

    enums = []
    for match in re.finditer(r"\benum\s+\w+\s*\{(.*?)\}\s*;", text, flags=re.S):
        for item in match.group(1).split(","):
            name = item.split("=")[0].strip()
            if name:
                enums.append(name)

    if not structs or not enums:
        sys.exit(f"abiTable.py: found no structs or enums in {source}")
    lines = ["/* Generated from bpf/abi.h by native/tools/abiTable.py. */"]
    lines.append("#define HP_ABI_STRUCTS(X) \\")
    lines += [f"  X({name}) \\" for name, _ in structs]
    lines.append("")
    lines.append("#define HP_ABI_FIELDS(X) \\")
    lines += [f"  X({name}, {field}) \\" for name, fields in structs for field in fields]
    lines.append("")
    lines.append("#define HP_ABI_ENUMS(X) \\")
    lines += [f"  X({name}) \\" for name in enums]
    lines.append("")
    with open(output, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
