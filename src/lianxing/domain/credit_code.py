"""统一社会信用代码 (unified social credit code) as GB 32100-2015 defines it, pure.

Eighteen characters from a 31-character set (digits and capitals without I, O, S, V, Z):

* position 1: registration authority (1 机构编制, 5 民政, 9 工商/市场监管, Y 其他, ...);
* position 2: kind of organisation under that authority;
* positions 3–8: administrative division code of the registering authority (digits);
* positions 9–17: the subject identifier (the former organisation code);
* position 18: the check character: C18 = 31 − MOD(Σ Ci × Wi, 31) with Wi = 3^(i−1) mod 31,
  and a value of 31 written as 0.

Early pilot regions issued some codes before the standard was final; they fail the check
character and are reported as invalid here, as the standard requires.
"""

from __future__ import annotations

from dataclasses import dataclass

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, ...
_VALUES = {c: i for i, c in enumerate(CHARSET)}

# Registration authorities and the organisation kinds each uses (GB 32100-2015 table 1).
AUTHORITY_KINDS: dict[str, str] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办直接管理的群众团体, 其他
    "2": "19",  # 外交
    "3": "123459",  # 司法行政: 律师事务所, 公证处, 基层法律服务所, 司法鉴定, 仲裁委员会, 其他
    "4": "19",  # 文化
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "19",  # 工会
    "9": "123",  # 工商: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室
    "N": "1239",  # 农业
    "Y": "1",  # 其他
}


@dataclass(frozen=True, slots=True)
class CreditCodeCheck:
    code: str  # as given, upper-cased and stripped
    valid: bool
    problem_zh: str | None
    problem_en: str | None


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (which must be in the charset)."""
    total = sum(_VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def check_credit_code(value: str | None) -> CreditCodeCheck:
    """Whether ``value`` is a well-formed credit code; the first problem found if not."""
    code = (value or "").strip().upper()

    def bad(zh: str, en: str) -> CreditCodeCheck:
        return CreditCodeCheck(code, False, zh, en)

    if not code:
        return bad("未填写统一社会信用代码", "no unified social credit code given")
    if len(code) != 18:
        return bad(
            f"“{code}”有 {len(code)} 位，统一社会信用代码应为 18 位",
            f"{code!r} has {len(code)} characters; a credit code has 18",
        )
    outside = sorted({c for c in code if c not in _VALUES})
    if outside:
        shown = ", ".join(outside)
        return bad(
            f"“{code}”含有代码字符集以外的字符：{shown}（不使用 I、O、S、V、Z）",
            f"{code!r} contains characters outside the code set: {shown} (I, O, S, V, Z unused)",
        )
    kinds = AUTHORITY_KINDS.get(code[0])
    if kinds is None:
        return bad(
            f"“{code}”第 1 位“{code[0]}”不是登记管理部门代码",
            f"{code!r}: position 1 {code[0]!r} is not a registration authority code",
        )
    if code[1] not in kinds:
        return bad(
            f"“{code}”第 2 位“{code[1]}”不是登记管理部门“{code[0]}”的机构类别代码",
            f"{code!r}: position 2 {code[1]!r} is not an organisation kind of authority "
            f"{code[0]!r} (expected one of {', '.join(kinds)})",
        )
    if not code[2:8].isdigit():
        return bad(
            f"“{code}”第 3–8 位“{code[2:8]}”应为行政区划代码（6 位数字）",
            f"{code!r}: positions 3–8 {code[2:8]!r} must be a 6-digit division code",
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return bad(
            f"“{code}”校验码错误：第 18 位为“{code[17]}”，按 GB 32100-2015 应为“{expected}”",
            f"{code!r}: check character is {code[17]!r}; GB 32100-2015 gives {expected!r}",
        )
    return CreditCodeCheck(code, True, None, None)
