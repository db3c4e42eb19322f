#!/usr/bin/env python3
"""Builds fixtures/sensitive/secret_dev.jsonl: secrets assigned to the names
services document for them, in the syntaxes code and configuration use,
plus assignments that are no secret.

Names are environment variables and fields as providers' setup guides name
them (Stripe, Twilio, SendGrid, Mailgun, Calendarific, OpenWeatherMap,
Algolia, Mapbox, Datadog, …); values are random strings of the alphabets and
lengths those services use (hex, base62, base64url), drawn with a fixed seed.
The negatives are the placeholders, environment lookups, calls and
identifiers tutorials assign to the same names.

    python3 scripts/eval/make_secret_dev.py > fixtures/sensitive/secret_dev.jsonl
"""
import json
import random
import string

NAMES = ["STRIPE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "SENDGRID_API_KEY", "MAILGUN_API_KEY", "CALENDARIFIC_API_KEY",
         "OPENWEATHERMAP_API_KEY", "ALGOLIA_ADMIN_KEY", "MAPBOX_ACCESS_TOKEN", "DATADOG_API_KEY", "client_secret",
         "apiKey", "api_key", "secret_key", "access_token", "auth_token", "DB_PASSWORD", "password", "x-api-key",
         "HUBSPOT_PRIVATE_APP_TOKEN", "NOTION_TOKEN"]
SYNTAX = [
    'export {n}={v}',
    '{n}="{v}"',
    "{n} = '{v}'",
    '"{n}": "{v}",',
    '{n}: {v}',
    'const {n} = "{v}";',
    '{n} := "{v}"',
    "'{n}' => '{v}',",
]
SENTENCES = [
    "Here is my config, why does the request fail?\n{}\n",
    "```\n{}\n```\nThe call returns 401.",
    "我的配置如下：\n{}\n为什么报错？",
    "{}",
]
NEG_VALUES = ["YOUR_API_KEY", "os.environ['STRIPE_SECRET_KEY']", "process.env.API_KEY", "<your-token-here>",
              "${DB_PASSWORD}", "xxxxxxxxxxxxxxxxxxxxxxxx", "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
              "settings.SENDGRID_API_KEY", "getpass.getpass()", "hashlib.sha256(password)",
              "base64.b64encode(secret)", "config.get('api_key')", "changeme_please_1234",
              "replace_with_your_key_123", "my_secret_password_2024"]


def value(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return "".join(rng.choice("0123456789abcdef") for _ in range(32))
    if kind == 1:
        return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(rng.randrange(20, 41)))
    if kind == 2:
        return "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(rng.randrange(24, 64)))
    return "key-" + "".join(rng.choice("0123456789abcdef") for _ in range(32))


def main():
    rng = random.Random(20261205)
    rows = []
    for i in range(60):
        n = rng.choice(NAMES)
        v = value(rng)
        line = rng.choice(SYNTAX).format(n=n, v=v)
        text = rng.choice(SENTENCES).format(line)
        start = text.index(v)
        rows.append({"id": f"secret-{i + 1:04}", "text": text, "spans": [[start, start + len(v), "secret"]],
                     "source": "generated"})
    for j, v in enumerate(NEG_VALUES * 2):
        n = rng.choice(NAMES)
        syn = rng.choice(SYNTAX[:3] + SYNTAX[4:5]) if j < len(NEG_VALUES) else "{n} = {v}"
        text = rng.choice(SENTENCES).format(syn.format(n=n, v=v))
        rows.append({"id": f"nosecret-{j + 1:04}", "text": text, "spans": [], "source": "written"})
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
