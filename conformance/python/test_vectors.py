"""Runs the Python verifier over the conformance vectors (conformance/README.md) and prints one line per
failure, then a final line `N passed, M failed`; exits 1 when any failed.

    python3 conformance/python/test_vectors.py
"""
import json
import pathlib
import sys

sys.dont_write_bytecode = True  # keep the repository clean of __pycache__
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from verify import Refused, jcs, verify  # noqa: E402

CONFORMANCE = pathlib.Path(__file__).resolve().parent.parent


def self_checks():
    """The JCS examples of RFC 8785 §3.2.2 and Appendix B, before any vector relies on them."""
    import verify as module

    parse = module._parse_json
    cases = [
        ('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
         '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
         '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
         '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'),
        ("[0,-0,1e21,999999999999999900000,1e23,9007199254740992,295147905179352830000,5e-324,0.000001,1e-7,"
         "1.7976931348623157e308,-1.5e-10]",
         "[0,0,1e+21,999999999999999900000,1e+23,9007199254740992,295147905179352830000,5e-324,0.000001,1e-7,"
         "1.7976931348623157e+308,-1.5e-10]"),
    ]
    return [f"JCS self-check: {expected} != {jcs(parse(text))}" for text, expected in cases if jcs(parse(text)) != expected]


def main():
    vectors = json.loads((CONFORMANCE / "vectors.json").read_text("utf-8"))
    jwks = json.loads((CONFORMANCE / vectors["jwks"]).read_text("utf-8"))
    failures = self_checks()
    passed = 0
    for vector in vectors["vectors"]:
        expected = vector["expected"]
        try:
            claims = verify(vector["token"], vector["body"], jwks=jwks, issuer=vectors["issuer"],
                            audience=vectors["audience"], now=vectors["now"],
                            tolerance=vectors["clockToleranceSeconds"])
            outcome = ("accept", claims)
        except Refused as refused:
            outcome = ("refuse", refused.reason)
        want = ("accept", expected["claims"]) if expected["verdict"] == "accept" else ("refuse", expected["reason"])
        if outcome == want:
            passed += 1
        else:
            failures.append(f"FAIL {vector['name']}: expected {want[0]} {json.dumps(want[1])[:200]}, "
                            f"got {outcome[0]} {json.dumps(outcome[1])[:200]}")
    for failure in failures:
        print(failure)
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
