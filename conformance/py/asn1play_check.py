#!/usr/bin/env python3
"""Independent DER cross-check for rspd's codec (crates/rsp-proto/tests/proto/asn1play_crosscheck.rs) with asn1play's pycrate modules.

Reads a JSON list of cases on stdin and writes a JSON list of results on stdout, one per case:
  {"id", "spec": "sgp22"|"sgp32"|"saip", "type": "EUICCInfo2", "der": "<hex>"}  -> decode with pycrate:
        {"id", "ok", "jer": <pycrate JER value>, "reencoded": "<hex>"} or {"id", "ok": false, "error"}
  {"id", "spec", "type", "jer": <value>}                                         -> encode with pycrate:
        {"id", "ok", "der": "<hex>"}
Exit code 3 (and a reason on stderr) when asn1play / pycrate cannot be imported, so the caller can skip.
Module versions: SGP.22 v2.5 (RSPDefinitions), SGP.32 v1.2 (SGP32Definitions; a type it imports, e.g.
ProfileInfoListRequest or SubjectPublicKeyInfo, is looked up in the RSPDefinitions / PKIX modules compiled with it),
SAIP v2.3.1 (TCA PEDefinitions).
"""
import json
import sys


def load_module(spec):
    if spec == "sgp22":
        from asn1_play.generated_code.asn1.GSMA.SGP_22.v2_5.python_gen.sgp22.sgp22 import RSPDefinitions

        return RSPDefinitions
    if spec == "sgp32":
        from asn1_play.generated_code.asn1.GSMA.SGP_32.v1_2.python_gen.sgp32.sgp32 import SGP32Definitions

        return SGP32Definitions
    if spec == "saip":
        from asn1_play.generated_code.asn1.TCA.eUICC_Profile_Package.v2_3_1.python_gen.epp.epp import PEDefinitions

        return PEDefinitions
    raise ValueError(f"unknown spec {spec!r}")


def find_type(spec, name):
    """The pycrate object for `name` in `spec`'s module, or in the modules SGP.32 v1.2 imports from."""
    attr = name.replace("-", "_")
    mod = load_module(spec)
    if hasattr(mod, attr) or spec != "sgp32":
        return getattr(mod, attr)
    from asn1_play.generated_code.asn1.GSMA.SGP_32.v1_2.python_gen.sgp32 import sgp32

    for imported in (sgp32.RSPDefinitions, sgp32.PKIX1Explicit88):
        if hasattr(imported, attr):
            return getattr(imported, attr)
    raise AttributeError(f"{name} is in neither SGP32Definitions nor the modules it imports")


def run_case(case):
    obj = find_type(case["spec"], case["type"])
    if "der" in case:
        der = bytes.fromhex(case["der"])
        obj.from_der(der)
        return {"ok": True, "jer": json.loads(obj.to_jer()), "reencoded": obj.to_der().hex()}
    obj.from_jer(json.dumps(case["jer"]))
    return {"ok": True, "der": obj.to_der().hex()}


def main():
    try:
        load_module("sgp22")
        load_module("sgp32")
        load_module("saip")
    except Exception as e:  # noqa: BLE001 - any import problem means "skip"
        print(f"asn1play unavailable: {e}", file=sys.stderr)
        sys.exit(3)
    out = []
    for case in json.load(sys.stdin):
        try:
            res = run_case(case)
        except Exception as e:  # noqa: BLE001 - report per case
            res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        res["id"] = case["id"]
        out.append(res)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
