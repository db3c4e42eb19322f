#!/usr/bin/env python3
"""Builds fixtures/sensitive/library_dev.jsonl: card numbers, IBANs and IPv6
addresses made by public libraries, in the written forms people use.

- cards: Faker's `credit_card_number` for each card type it knows (Visa 13,
  16 and 19 digits, Mastercard, American Express, Discover, Diners Club, JCB
  15 and 16 digits, Maestro), plain, in groups of four with spaces, dashes or
  no-break spaces;
- IBANs: Faker's `iban()` of 20 locales, in groups of four with spaces or
  dashes, all lower case, or with a space after the country code;
- IPv6: Faker's `ipv6()` in 2000::/3 (global unicast), compressed, exploded
  or with short groups (leading zeros dropped).
Each sits in a sentence written for this set (English or Chinese).

    /tmp/pv/bin/pip install faker==40.63.0
    /tmp/pv/bin/python scripts/eval/make_library_pii_dev.py > fixtures/sensitive/library_dev.jsonl
"""
import ipaddress
import json
import random

from faker import Faker

CARDS = ["visa13", "visa16", "visa19", "mastercard", "amex", "discover", "diners", "jcb15", "jcb16", "maestro"]
IBAN_LOCALES = ["de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_GB", "pl_PL", "pt_PT", "fi_FI", "sv_SE", "da_DK",
                "no_NO", "cs_CZ", "tr_TR", "de_AT", "de_CH", "nl_BE", "el_GR", "ro_RO", "hu_HU"]
TEMPLATES = {
    "card": ["Please charge my card {} for the order.", "卡号：{}，有效期 12/27。", "Card on file: {}"],
    "iban": ["Transfer the deposit to {} by Monday.", "收款账户 {}，户名张伟。", "My IBAN is {}."],
    "ip": ["The server at {} stopped answering.", "请把 {} 加入白名单。", "Allow {} in the firewall."],
}


def group4(s, sep):
    return sep.join(s[i:i + 4] for i in range(0, len(s), 4))


def main():
    rng = random.Random(20261205)
    rows = []
    f = Faker("en_US")
    f.seed_instance(20261205)
    for t in CARDS:
        for i in range(4):
            n = f.credit_card_number(card_type=t)
            if t != "amex":
                n = [n, group4(n, " "), group4(n, "-"), group4(n, "\u00a0")][i]
            rows.append(("card", n, f"faker:{t}"))
    for loc in IBAN_LOCALES:
        g = Faker(loc)
        g.seed_instance(20261205)
        for i in range(4):
            n = g.iban()
            n = [group4(n, " "), group4(n, "-"), n.lower(), n[:2] + " " + n[2:4] + " " + group4(n[4:], " ")][i]
            rows.append(("iban", n, f"faker:{loc}"))
    k = 0
    while k < 30:
        a = ipaddress.IPv6Address(f.ipv6())
        if a.packed[0] & 0xE0 != 0x20:
            continue
        n = [a.compressed, a.exploded, ":".join(x.lstrip("0") or "0" for x in a.exploded.split(":"))][k % 3]
        rows.append(("ip", n, "faker:ipv6"))
        k += 1
    for i, (ty, n, src) in enumerate(rows):
        tpl = rng.choice(TEMPLATES[ty])
        start = tpl.index("{}")
        print(json.dumps({"id": f"lib-{i + 1:04}", "text": tpl.replace("{}", n),
                          "spans": [[start, start + len(n), ty]], "source": src}, ensure_ascii=False))


if __name__ == "__main__":
    main()
