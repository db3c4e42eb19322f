#!/usr/bin/env python3
"""Builds fixtures/sensitive/pii_dev.jsonl, the labelled PII development set.

Each line: {"id", "text", "spans": [[start, end, type], ...], "source"}, with
offsets in Unicode characters and types as in the `pii` column (email, phone,
ip, card, ssn, cn-id, iban, secret). Generated texts use values made valid by
construction (Luhn, mod 11-2, mod-97, SSA ranges); real texts are taken from
permissively licensed sets of ../shared/corpora (see fixtures/sensitive/SOURCES.md)
and labelled by hand below. Deterministic: the same script gives the same file.

Usage: python3 scripts/eval/make_pii_dev.py [CORPORA_DIR]
"""

import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "fixtures", "sensitive", "pii_dev.jsonl")
rng = random.Random(20261130)
records = []


def add(parts, source="generated"):
    """parts: list of str or (value, type); builds text and spans."""
    text, spans = "", []
    for p in parts:
        if isinstance(p, tuple):
            v, t = p
            spans.append([len(text), len(text) + len(v), t])
            text += v
        else:
            text += p
    records.append({"id": f"dev-{len(records) + 1:04d}", "text": text, "spans": spans, "source": source})


def neg(text, source="generated"):
    add([text], source)


# ---------- values valid by construction ----------
def luhn_complete(prefix, length):
    d = [int(c) for c in prefix]
    while len(d) < length - 1:
        d.append(rng.randrange(10))
    for check in range(10):
        cand = d + [check]
        s = 0
        for i, x in enumerate(reversed(cand)):
            if i % 2 == 1:
                x *= 2
                if x > 9:
                    x -= 9
            s += x
        if s % 10 == 0:
            return "".join(map(str, cand))
    raise ValueError


def luhn_ok(s):
    d = [int(c) for c in s if c.isdigit()]
    t = 0
    for i, x in enumerate(reversed(d)):
        if i % 2 == 1:
            x *= 2
            if x > 9:
                x -= 9
        t += x
    return t % 10 == 0


def group(num, sizes, sep):
    out, i = [], 0
    for s in sizes:
        out.append(num[i:i + s])
        i += s
    return sep.join(out)


def cn_id(province="110105", year=None):
    y = year or rng.randrange(1950, 2005)
    m = rng.randrange(1, 13)
    d = rng.randrange(1, 29)
    body = f"{province}{y:04d}{m:02d}{d:02d}{rng.randrange(0, 1000):03d}"
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * k for c, k in zip(body, w))
    return body + "10X98765432"[s % 11]


def iban(country, bban):
    def num(s):
        return int("".join(str(int(c, 36)) for c in s))
    check = 98 - num(bban + country + "00") % 97
    return f"{country}{check:02d}{bban}"


def rdigits(n):
    return "".join(str(rng.randrange(10)) for _ in range(n))


def rletters(n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    return "".join(rng.choice(alphabet) for _ in range(n))


def ralnum(n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"):
    return "".join(rng.choice(alphabet) for _ in range(n))


def print_iban(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def ssn():
    while True:
        a = rng.randrange(1, 900)
        if a != 666:
            return f"{a:03d}", f"{rng.randrange(1, 100):02d}", f"{rng.randrange(1, 10000):04d}"


# ---------- e-mail ----------
names = ["jane.doe", "j.smith", "wei.zhang", "li_na88", "maria.garcia", "bob+news", "k.tanaka", "ahmed.hassan",
         "olivia_brown", "chen.jie", "support", "sales.team", "dr.patel", "anna-lee", "m.rossi"]
domains = ["gmail.com", "qq.com", "163.com", "outlook.com", "company.co.uk", "uni-heidelberg.de", "yahoo.co.jp",
           "acme-corp.com", "mail.ru", "hotmail.fr", "example.org", "sina.cn"]
email_t = [
    ["Please send the report to ", None, " by Friday."],
    ["Contact: ", None],
    ["请发送邮件至", None, "，我们会尽快回复。"],
    ["My email is ", None, " and my backup is ", None, "."],
    ["<a href=\"mailto:", None, "\">Email us</a>"],
    ["Reply-To: ", None, "\nSubject: Meeting notes"],
    ["联系邮箱：", None],
    ["Dear team, cc ", None, " on the thread. Thanks!"],
]
for i in range(24):
    t = email_t[i % len(email_t)]
    add([(f"{rng.choice(names)}@{rng.choice(domains)}", "email") if p is None else p for p in t])
for t in ["Use icon@2x.png for retina screens.", "Follow us @openai_news on Twitter.", "npm install @babel/core",
          "ssh user@localhost -p 2222", "The decorator @app.route('/') maps the URL.",
          "Write to name [at] domain [dot] com.", "git clone git@github.com:org/repo.git",
          "Price: 3 apples @ $0.50 each.", "邮箱格式为 用户名@域名，例如用户名@域名。"]:
    neg(t)

# ---------- phone ----------
phones = ["(415) 555-2671", "415-555-2671", "415.555.2671", "+1 415 555 2671", "1-800-555-0199", "+44 20 7946 0958",
          "+49 30 901820", "+33 1 42 68 53 00", "+81 3-3224-5000", "+86 138 0013 8000", "13800138000", "15912345678",
          "+8613912345678", "010-62751234", "(0755)8888 6666", "0571-87654321", "021-6888 1234", "+61 2 9374 4000",
          "+91 98765 43210", "(212) 555-0147", "646-555-0123", "18612345678", "+852 2523 3456", "+7 495 123-45-67",
          "+55 11 98765-4321", "555-123-4567", "+1 (646) 555-0199", "13912345678", "(020) 3456 7890"]
phone_t = [["Call me at ", None, " after 5pm."], ["电话：", None], ["Phone: ", None, "\nFax: ", None],
           ["如有问题请拨打", None, "联系客服。"], ["You can reach our office on ", None, "."],
           ["Tel. ", None, " (Mon-Fri)"]]
pi = 0
for i in range(22):
    t = phone_t[i % len(phone_t)]
    parts = []
    for p in t:
        if p is None:
            parts.append((phones[pi % len(phones)], "phone"))
            pi += 1
        else:
            parts.append(p)
    add(parts)
add(["mobile: ", ("4155552671", "phone")])
for t in ["The meeting is on 2023-10-05 at 12:30:45.", "ISBN 978-0-306-40615-7 is the ISBN-13 of the book.",
          "Order No. 20230915-88431 has shipped.", "The population grew from 1,234,567 to 2,345,678.",
          "Timestamp: 1700000000000 ms", "Invoice #4155552671 is overdue.", "Room 305, Building 12, 100084",
          "Score: 98.5, 87.25, 1000.75", "Tracking number 1Z999AA10123456784", "计算 13800 + 13800 = 27600",
          "The answer is 3141592653.", "Coordinates 40.7128, -74.0060", "Use port 8080 and 443.",
          "In 1998-2004 the rate rose 12.5%.", "Product code 2023-1105-7788-01"]:
    neg(t)

# ---------- ip ----------
ips = ["8.8.4.4", "114.114.114.114", "203.208.60.1", "151.101.1.69", "104.16.132.229", "52.95.110.1",
       "2606:4700:4700::1111", "2a00:1450:4001:81b::200e", "2001:4860:4860::8888", "81.2.69.160", "23.45.67.89"]
ip_t = [["Our server is at ", None, "."], ["服务器地址是", None, "，端口22。"], ["ping ", None],
        ["The attacker came from ", None, " according to the logs."]]
for i, v in enumerate(ips):
    t = ip_t[i % len(ip_t)]
    add([(v, "ip") if p is None else p for p in t])
for t in ["Set the router to 192.168.1.1 and the subnet to 255.255.255.0.", "localhost is 127.0.0.1",
          "Upgrade to version 4.2.1.0 today.", "Released v1.2.3.4 with fixes.", "Python 3.11.4.1 build",
          "The OID is 1.2.840.113549.1.1.1.", "Docs use 192.0.2.1 and 2001:db8::1 as examples.",
          "Section 2.3.4.5 explains it.", "Meet at 10:30:00, leave at 12:45:30.", "C++: std::vector<int> v;",
          "Private net 10.0.0.8/8 and 172.16.0.1", "Link-local fe80::1ff:fe23:4567:890a%eth0",
          "Date 01.02.2023 and 1.5.10.2000"]:
    neg(t)

# ---------- card ----------
issuers = [("4", 16, [4, 4, 4, 4]), ("4", 16, [16]), ("51", 16, [4, 4, 4, 4]), ("55", 16, [16]),
           ("2221", 16, [4, 4, 4, 4]), ("34", 15, [4, 6, 5]), ("37", 15, [15]), ("6011", 16, [4, 4, 4, 4]),
           ("65", 16, [16]), ("3530", 16, [4, 4, 4, 4]), ("36", 14, [4, 6, 4]), ("62", 16, [4, 4, 4, 4]),
           ("62", 19, [19]), ("4", 13, [13])]
card_t = [["Card number: ", None, ", exp 12/27"], ["请用卡号", None, "支付。"], ["Charge ", None, " for $49.99."],
          ["Test card ", None], ["My Visa is ", None, " and CVV 123."]]
for i in range(30):
    prefix, length, sizes = issuers[i % len(issuers)]
    num = luhn_complete(prefix, length)
    sep = rng.choice([" ", "-"]) if len(sizes) > 1 else ""
    t = card_t[i % len(card_t)]
    add([(group(num, sizes, sep), "card") if p is None else p for p in t])
add(["Stripe test: ", ("4242 4242 4242 4242", "card"), ", Amex ", ("3782 822463 10005", "card")])
# 16-digit numbers that fail Luhn or have no issuer
for i in range(8):
    num = luhn_complete("4", 16)
    bad = num[:-1] + str((int(num[-1]) + 1) % 10)
    neg(f"Reference {group(bad, [4, 4, 4, 4], ' ')} is not a card.")
for t in ["Account 1234 5678 9012 3456", "ISBN 9780306406157", "Order 9000000000000000", "0000 0000 0000 0000",
          "IMEI 490154203237518", "Calculate(\"67570000-64102140\")", "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          "id=8812345678901234567890", "2023 1105 7788 0123 is a batch code", "1111-1111-1111-1111"]:
    neg(t)

# ---------- ssn ----------
ssn_t = [["SSN: ", None], ["My social security number is ", None, "."], ["Employee ", None, " joined in 2019."],
         ["社会安全号 ", None]]
for i in range(14):
    a, g, s = ssn()
    sep = "-" if i % 4 else " "
    t = ssn_t[i % len(ssn_t)]
    add([(f"{a}{sep}{g}{sep}{s}", "ssn") if p is None else p for p in t])
a, g, s = ssn()
add(["SSN ", (f"{a}{g}{s}", "ssn")])
for t in ["Invalid: 000-12-3456 and 666-45-6789", "ITIN 912-34-5678", "The sample SSN 078-05-1120 is void.",
          "Group zero 536-00-8514, serial zero 536-22-0000", "Call 555-12-3456x", "Date 2023-10-05",
          "Part no. 123-45-67890", "Order 536228514 was shipped."]:
    neg(t)

# ---------- cn-id ----------
cn_t = [["身份证号：", None], ["Resident ID ", None, " on file."], ["公民身份号码", None, "，请核对。"],
        ["ID card: ", None]]
provinces = ["110105", "310104", "440305", "510107", "330106", "420102", "320102", "650102"]
for i in range(16):
    v = cn_id(provinces[i % len(provinces)])
    t = cn_t[i % len(cn_t)]
    add([(v, "cn-id") if p is None else p for p in t])
add(["身份证号码为", ("11010519491231002X", "cn-id"), "。"])
for i in range(5):
    v = cn_id(provinces[i])
    bad = v[:-1] + ("0" if v[-1] != "0" else "1")
    neg(f"编号{bad}校验失败。")
for t in ["订单号202310051234567890", "Tracking 110105194913310028", "流水号 990105194912310025",
          "Batch 20231005123456789X?"]:
    neg(t)

# ---------- iban ----------
bbans = [("DE", lambda: rdigits(18)), ("GB", lambda: rletters(4) + rdigits(14)),
         ("FR", lambda: rdigits(10) + ralnum(11, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + rdigits(2)),
         ("NL", lambda: rletters(4) + rdigits(10)), ("ES", lambda: rdigits(20)),
         ("IT", lambda: rletters(1) + rdigits(10) + ralnum(12, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")),
         ("CH", lambda: rdigits(17)), ("BE", lambda: rdigits(12))]
iban_t = [["Please transfer to IBAN ", None, "."], ["收款账户：", None], ["Bank details: ", None, " (BIC DEUTDEFF)"]]
for i in range(16):
    c, f = bbans[i % len(bbans)]
    if c == "BE":
        b = rdigits(10)
        b = b + f"{int(b) % 97 or 97:02d}"
    else:
        b = f()
    v = iban(c, b)
    v = print_iban(v) if i % 2 else v
    t = iban_t[i % len(iban_t)]
    add([(v, "iban") if p is None else p for p in t])
add(["IBAN: ", ("GB82 WEST 1234 5698 7654 32", "iban")])
for t in ["GB82 WEST 1234 5698 7654 33 has a bad checksum.", "DE89370400440532013 is too short.",
          "SKU AB12 CDEF 3456 7890", "Model XY12 3456 7890 1234", "Flight LH1234 and AB12345678"]:
    neg(t)

# ---------- secrets ----------
def akia():
    return "AKIA" + ralnum(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


secrets = []
for _ in range(3):
    k = akia()
    s = ralnum(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+")
    add(["aws_access_key_id = ", (k, "secret"), "\naws_secret_access_key = ", (s, "secret")])
for _ in range(2):
    add(["export AWS_ACCESS_KEY_ID=", (akia(), "secret")])
for _ in range(3):
    add(["GITHUB_TOKEN=", ("ghp_" + ralnum(36), "secret")])
add(["token: ", ("github_pat_" + ralnum(22) + "_" + ralnum(59), "secret")])
add(["GitLab token ", ("glpat-" + ralnum(20), "secret"), " expires soon."])
add(["SLACK_BOT_TOKEN=", ("xoxb-" + rdigits(12) + "-" + rdigits(13) + "-" + ralnum(24), "secret")])
add(["Webhook: ", ("https://hooks.slack.com/services/T" + rletters(8) + "/B" + rletters(10) + "/" + ralnum(24), "secret")])
add(["openai.api_key = \"", ("sk-" + ralnum(48), "secret"), "\""])
add(["OPENAI_API_KEY=", ("sk-proj-" + ralnum(64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"), "secret")])
add(["const key = '", ("AIza" + ralnum(35, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"), "secret"), "';"])
add(["我的谷歌密钥是", ("AIza" + ralnum(35), "secret"), "，别外传。"])
jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
add(["Authorization: Bearer ", (jwt, "secret")])
key_body = "\n".join(ralnum(64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(4))
add(["Here is the key:\n", ("-----BEGIN RSA PRIVATE KEY-----\n" + key_body + "\n-----END RSA PRIVATE KEY-----", "secret"),
     "\nKeep it safe."])
add([("-----BEGIN OPENSSH PRIVATE KEY-----\n" + key_body + "\n-----END OPENSSH PRIVATE KEY-----", "secret")])
add(["DATABASE_URL=postgres://", ("admin:Xk9#mQ2vLp", "secret"), "@db.internal.example.com:5432/app"])
add(["mongodb+srv://", ("appuser:r7TqWz3Ns8", "secret"), "@cluster0.ab1cd.mongodb.net/test"])
add(["连接串 mysql://", ("root:S3cure!pw", "secret"), "@10.1.2.3/app"])
for t in ["postgresql://user:password@localhost/db", "redis://:${REDIS_PASS}@cache:6379/0",
          "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "pip install scikit-learn (sk-learn)",
          "commit 3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39", "uuid 123e4567-e89b-12d3-a456-426614174000",
          "md5 d41d8cd98f00b204e9800998ecf8427e", "base64 SGVsbG8gV29ybGQhIFRoaXMgaXMgYSB0ZXN0Lg==",
          "API_KEY=<your-api-key>", "mysql://root:<password>@localhost/app", "-----BEGIN PUBLIC KEY-----",
          "sk-... replace with your key", "AKIA is the prefix of AWS access key ids.",
          "https://www.example.com/path?q=1:2@3"]:
    neg(t)

# ---------- mixed ----------
a, g, s = ssn()
add(["Name: John Smith\nEmail: ", ("john.smith@gmail.com", "email"), "\nPhone: ", ("(312) 555-0182", "phone"),
     "\nSSN: ", (f"{a}-{g}-{s}", "ssn"), "\nCard: ", (group(luhn_complete("4", 16), [4, 4, 4, 4], " "), "card")])
add(["姓名：王伟\n手机：", ("13912345678", "phone"), "\n邮箱：", ("wangwei@163.com", "email"), "\n身份证：",
     (cn_id("320102"), "cn-id"), "\n地址：南京市玄武区"])
add(["Server ", ("203.0.114.7", "ip"), " logged in from ", ("198.51.99.200", "ip"), " with key ", (akia(), "secret")])


# ---------- formats written after the detectors, not tuned for ----------
for v in ["+1-415-555-2671", "(+86) 138-0013-8000", "+44 (0)20 7946 0958", "0044 20 7946 0958", "+33 6 12 34 56 78",
          "020 7946 0958", "06-12345678", "1 (800) 555-0199", "138-0013-8000", "+86-10-62751234", "400-820-8820",
          "+1.415.555.2671", "(02) 9374 4000", "+65 6123 4567", "0912-345-678"]:
    add(["You can call ", (v, "phone"), " any time."])
for v in ["First.Last+tag@sub.Example.MUSEUM", "o'brien@example.ie", "x@y.io", "user.name@bücher.de",
          "12345@qq.com", "admin@mail.gov.cn"]:
    add(["E-mail: ", (v, "email")])
for v in ["2a03:2880:f12f:83:face:b00c:0:25de", "::ffff:8.8.8.8", "216.58.214.14:443"]:
    add(["Traffic from ", (v.split(":443")[0], "ip"), ":443" if v.endswith(":443") else "", " was blocked."])
add(["Pay with ", (group(luhn_complete("4", 19), [4, 4, 4, 4, 3], " "), "card"), " (19-digit Visa)."])
add(["Maestro ", (group(luhn_complete("6759", 16), [4, 4, 4, 4], " "), "card")])

# ---------- real records (labelled by hand) ----------
def corpus_line(corpora, rel, line):
    with open(os.path.join(corpora, rel), encoding="utf-8") as f:
        for i, l in enumerate(f, 1):
            if i == line:
                return json.loads(l)
    raise KeyError(f"{rel}:{line}")


REAL = [
    # (file, line, how to get the text, [(substring, type)])
    ("glaive_toolcall_demo/glaive_toolcall_zh_demo.jsonl", 183, lambda r: r["conversations"][2]["value"],
     [("123-456-7890", "phone"), ("johndoe@example.com", "email")]),
    ("glaive_toolcall_demo/glaive_toolcall_zh_demo.jsonl", 183, lambda r: r["conversations"][3]["value"],
     [("123 - 456 - 7890", "phone"), ("johndoe@example.com", "email")]),
    ("llamafactory_v1_sft_demo/v1_sft_demo.jsonl", 142, lambda r: r["messages"][1]["content"][0]["value"],
     [("(555) 123-4567", "phone")]),
    ("gpteacher/codegen-instruct.jsonl", 292, lambda r: r["instruction"] + "\n" + r["input"], []),
    ("gpteacher/codegen-instruct.jsonl", 2860, lambda r: r["input"] + "\n" + r["response"],
     [("123.45.67.89", "ip"), ("123.45.67.89", "ip")]),
    ("gpteacher/toolformer-dedupe-only-dataset.jsonl", 177, lambda r: r["instruction"], [("8.8.8.8", "ip")]),
    ("gpteacher/codegen-instruct.jsonl", 1270, lambda r: r["response"], []),
    ("gpteacher/codegen-instruct.jsonl", 281, lambda r: r["response"], []),
    ("gpteacher/codegen-instruct.jsonl", 140, lambda r: r["response"], []),
    ("llamafactory_dpo_demo/dpo_en_demo.jsonl", 81, lambda r: r["chosen"]["value"], []),
    ("llamafactory_dpo_demo/dpo_en_demo.jsonl", 145, lambda r: r["rejected"]["value"], []),
    ("llamafactory_dpo_demo/dpo_en_demo.jsonl", 121, lambda r: r["chosen"]["value"], []),
    ("alpaca_cot/aqua_train.jsonl", 736, lambda r: r["instruction"] + "\n" + r["output"], []),
    ("alpaca_cot/aqua_train.jsonl", 1893, lambda r: r["instruction"] + "\n" + r["output"], []),
]


def add_real(corpora):
    for rel, line, get, labels in REAL:
        try:
            text = get(corpus_line(corpora, rel, line))
        except (OSError, KeyError, IndexError):
            print(f"skipped {rel}:{line} (not found)", file=sys.stderr)
            continue
        spans, pos = [], {}
        for sub, t in labels:
            start = text.find(sub, pos.get(sub, 0))
            if start < 0:
                raise SystemExit(f"{rel}:{line}: {sub!r} not found")
            pos[sub] = start + len(sub)
            spans.append([start, start + len(sub), t])
        records.append({"id": f"dev-{len(records) + 1:04d}", "text": text, "spans": spans, "source": f"{rel}:{line}"})


def add_real_by_search(corpora):
    """Records found by a pattern, labelled by the substrings given."""
    wanted = [
        ("gpteacher/codegen-instruct.jsonl", "someone@example.com", ["someone@example.com"], "email"),
        ("gpteacher/codegen-instruct.jsonl", "example.email@example.com", ["example.email@example.com"], "email"),
        ("llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl", "alice@email.com", ["alice@email.com", "john@email.com"],
         "email"),
    ]
    for rel, trigger, subs, t in wanted:
        path = os.path.join(corpora, rel)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for i, l in enumerate(f, 1):
                r = json.loads(l)
                text = r.get("input", "")
                if trigger in text:
                    spans = []
                    for sub in subs:
                        at = 0
                        while True:
                            s = text.find(sub, at)
                            if s < 0:
                                break
                            # only whole addresses
                            if s == 0 or not (text[s - 1].isalnum() or text[s - 1] in "._%+-"):
                                spans.append([s, s + len(sub), t])
                            at = s + len(sub)
                    spans.sort()
                    records.append({"id": f"dev-{len(records) + 1:04d}", "text": text, "spans": spans,
                                    "source": f"{rel}:{i}"})
                    break


corpora = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "corpora")
if os.path.isdir(corpora):
    add_real(corpora)
    add_real_by_search(corpora)

# sanity: generated card numbers are Luhn-valid, labels are within text
for r in records:
    for s, e, t in r["spans"]:
        assert 0 <= s < e <= len(r["text"]), r
        if t == "card":
            assert luhn_ok(r["text"][s:e]), r

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w", encoding="utf-8") as f:
    for r in records:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
counts = {}
for r in records:
    for _, _, t in r["spans"]:
        counts[t] = counts.get(t, 0) + 1
print(f"{len(records)} records, {sum(1 for r in records if not r['spans'])} without PII; spans: {counts}")
