#!/usr/bin/env python3
"""Builds fixtures/sensitive/phone_dev.jsonl: phone numbers of many regions,
written as people write them, in English and Chinese sentences, plus
number-shaped text that is no phone number.

The numbers come from two public libraries, not from the detector's
patterns: libphonenumber's example numbers per region (the `phonenumbers`
package: mobile and fixed-line, national and international format) and
Faker's per-locale `phone_number()` (formats as each locale's providers write
them, digits random). The sentences are templates written for this set, half
with a word that says a phone number follows and half without. The
negatives are dates, amounts, versions, codes and counts in the same
templates' style.

    python3 -m venv /tmp/pv && /tmp/pv/bin/pip install phonenumbers==9.0.43 faker==40.63.0
    /tmp/pv/bin/python scripts/eval/make_phone_dev.py > fixtures/sensitive/phone_dev.jsonl

Same output for the same package versions (fixed seeds).
"""
import json
import random

import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

REGIONS = ["US", "CA", "GB", "IE", "AU", "NZ", "IN", "CN", "HK", "TW", "SG", "JP", "KR", "DE", "FR", "IT",
           "ES", "PT", "NL", "BE", "CH", "AT", "SE", "NO", "DK", "FI", "PL", "CZ", "RU", "UA", "TR", "BR",
           "MX", "AR", "CL", "CO", "ZA", "NG", "EG", "IL", "AE", "SA"]
LOCALES = ["en_US", "en_GB", "en_AU", "en_IN", "en_CA", "de_DE", "fr_FR", "it_IT", "es_ES", "pt_PT", "pt_BR",
           "nl_NL", "sv_SE", "da_DK", "fi_FI", "pl_PL", "cs_CZ", "ru_RU", "uk_UA", "tr_TR", "ja_JP", "ko_KR",
           "zh_CN", "zh_TW", "es_MX", "de_CH", "fr_CH", "nl_BE"]

CUE_EN = [
    "Call me at {} if the parcel is late.",
    "My phone number is {}.",
    "You can reach the front desk on {} after nine.",
    "Tel: {}",
    "For bookings, phone {} and ask for Maria.",
    "Her mobile is {}, but she rarely answers.",
    "Fax the signed form to {} before Friday.",
    "Contact: Anna Berg, {}",
    "Text me on {} when you land.",
    "Please dial {} for the night nurse.",
]
PLAIN_EN = [
    "The Lisbon office ({}) opens at nine.",
    "Anna Berg, {}, 12 Harbour Road.",
    "If nobody is in, try {} instead.",
    "I left the number {} on the fridge.",
    "{} is the line for the school office.",
]
CUE_ZH = [
    "请拨打{}联系王老师。",
    "我的手机号是{}，有事请打给我。",
    "联系电话：{}",
    "如有问题，请致电{}。",
    "前台电话{}，工作日九点后有人接听。",
]
PLAIN_ZH = [
    "张经理（{}）明天上午到公司。",
    "把{}记下来，周一再打过去。",
    "地址：上海市南京路 88 号，{}。",
]
NEG = [
    "The meeting moved to 05.06.2023 at 10:30.",
    "Invoice 2023-0415-7789 is still unpaid.",
    "ISBN 978-3-16-148410-0 is the second edition.",
    "The coordinates are 40.7128, -74.0060.",
    "1234 + 5678 = 6912, so the answer is 6912.",
    "Update to version 10.0.19041.1415 before the exam.",
    "The population reached 1 402 112 000 in 2020.",
    "GDP was 21 433 226 million dollars.",
    "Order #4155552671 shipped on Monday.",
    "The train leaves at 07:45 and arrives at 11:20.",
    "Room 204, floor 3, building 12.",
    "Add 25.50, 13.75 and 8.25 to get 47.50.",
    "Her student number is 2019 3341 (not a phone).",
    "The years 1914-1918 and 1939-1945 changed Europe.",
    "Step 3: multiply 365 by 24 to get 8760 hours.",
    "The postcode is SW1A 1AA and the flat is 4B.",
    "邮编 100871，门牌号 12 号。",
    "2023年10月15日 下午 3:30 开会。",
    "订单号 20231015123456 已发货。",
    "计算 3.14 × 12 × 12 = 452.16。",
    "The sequence 3, 6, 12, 24, 48 doubles each time.",
    "Serial number: 4X7-8821-9930-K.",
    "Latitude 51.5074, longitude 0.1278.",
    "A bank transfer of 1,250,000.00 EUR cleared.",
    "Temperatures ranged from -12 to 35 degrees.",
    "The matrix is [[1, 2, 3], [4, 5, 6]].",
    "Kilometre 1 204 of the route is in Nevada.",
    "Chapter 12.4.3 explains the rule.",
    "The lottery numbers were 05 12 23 34 41 49.",
    "Flight LH 2024 departs from gate 12.",
    # Shapes met in ../shared/corpora:
    "Create an algorithm that XORs two binary strings.\n11001101 and 01111101",
    "There are approximately 0.621371 miles in a kilometer.",
    "10(11111)*4! - 10(1111)3! = 2599980",
    "C. 75 - 0.4756(14)\nD. 75 - 0.5244(14)",
    'std::string ip = "192.168.1.1";',
    "苹果 iPhone 11 (1) 999.99 美元",
    "Convert it to a human-readable datetime string.\n1633049473",
]


def numbers(rng):
    out = []
    for r in REGIONS:
        for t in (T.MOBILE, T.FIXED_LINE):
            n = phonenumbers.example_number_for_type(r, t)
            if n is None:
                continue
            fmt = rng.choice([F.NATIONAL, F.INTERNATIONAL])
            out.append((phonenumbers.format_number(n, fmt), f"libphonenumber:{r}"))
    fake = Faker(LOCALES)
    fake.seed_instance(20261205)
    for loc in LOCALES:
        for _ in range(2):
            out.append((fake[loc].phone_number(), f"faker:{loc}"))
    return out


def main():
    rng = random.Random(20261205)
    rows = []
    for i, (num, src) in enumerate(numbers(rng)):
        zh = src.endswith(("CN", "TW", "HK", "zh_CN", "zh_TW")) or rng.random() < 0.15
        cue = rng.random() < 0.5
        pool = (CUE_ZH if cue else PLAIN_ZH) if zh else (CUE_EN if cue else PLAIN_EN)
        tpl = rng.choice(pool)
        start = tpl.index("{}")
        text = tpl.replace("{}", num)
        rows.append({"id": f"phone-{i + 1:04}", "text": text, "spans": [[start, start + len(num), "phone"]],
                     "source": src})
    for j, text in enumerate(NEG):
        rows.append({"id": f"nophone-{j + 1:04}", "text": text, "spans": [], "source": "written"})
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
