#!/usr/bin/env python3
"""Prints ASN.1 type assignments for named types from asn1play's pycrate-compiled GSMA modules.

asn1play ships the SGP.22 / SGP.32 modules compiled to pycrate objects (the module text itself is not in
the package); this script writes them back as ASN.1 with tags, OPTIONAL/DEFAULT, extension markers and
size/value constraints, which is what rspd's `asn1/*.asn` files hold.  Usage:
    asn1play_dump.py sgp22|sgp32 TypeName...
"""
import sys

from asn1play_check import load_module


def const_text(obj):
    out = []
    for attr, kw in (("_const_val", ""), ("_const_sz", "SIZE")):
        c = getattr(obj, attr, None)
        if c is None:
            continue
        parts = []
        for r in c.root:
            if hasattr(r, "lb"):
                parts.append(f"{r.lb}..{'MAX' if r.ub is None else r.ub}")
            else:
                parts.append(str(r))
        text = " | ".join(parts) + (", ..." if c.ext is not None else "")
        out.append(f"({kw}({text}))" if kw else f"({text})")
    return " ".join(out)


def tag_text(obj):
    if not obj._tag:
        return ""
    num, cls, mode = obj._tag
    cls = "" if cls == "CONTEXT-SPECIFIC" else cls + " "
    mode = " EXPLICIT" if mode == "EXPLICIT" else ""
    return f"[{cls}{num}]{mode} "


def type_text(obj, indent):
    pad = "    " * indent
    if obj._typeref is not None:
        name = obj._typeref.called[1]
        return f"{tag_text(obj)}{name}"
    t = obj.TYPE
    if t in ("SEQUENCE", "SET", "CHOICE"):
        lines = []
        root = list(obj._root) if t != "CHOICE" else [k for k in obj._cont if k not in (obj._ext or [])]
        ext = obj._ext
        opt = getattr(obj, "_root_opt", None) or []
        for name in list(root) + ["..."] + list(ext or []) if ext is not None else root:
            if name == "...":
                lines.append(f"{pad}    ...")
                continue
            comp = obj._cont[name]
            suffix = ""
            if t != "CHOICE":
                if comp._def is not None:
                    suffix = f" DEFAULT {comp._def!r}"
                elif name in opt or name in (ext or []):
                    suffix = " OPTIONAL"
            lines.append(f"{pad}    {name} {type_text(comp, indent + 1)}{suffix}")
        body = ",\n".join(lines)
        return f"{tag_text(obj)}{t} {{\n{body}\n{pad}}}"
    if t in ("SEQUENCE OF", "SET OF"):
        c = const_text(obj)
        return f"{tag_text(obj)}{t[:-3]}{(' ' + c) if c else ''} OF {type_text(obj._cont, indent)}"
    extra = ""
    if t in ("INTEGER", "ENUMERATED", "BIT STRING") and getattr(obj, "_cont", None):
        items = [f"{k}({v})" for k, v in obj._cont.items()]
        if t == "ENUMERATED" and obj._ext is not None:
            items.append("...")
        extra = " {" + ", ".join(items) + "}"
    c = const_text(obj)
    return f"{tag_text(obj)}{t}{extra}{(' ' + c) if c else ''}"


def main():
    spec, names = sys.argv[1], sys.argv[2:]
    mod = load_module(spec)
    for n in names:
        obj = getattr(mod, n.replace("-", "_"))
        print(f"{n} ::= {type_text(obj, 0)}\n")


if __name__ == "__main__":
    main()
