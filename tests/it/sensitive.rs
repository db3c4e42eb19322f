//! The `sensitive` stage end to end: redaction in messages and raw, the `pii`
//! column, drops with their rule ids, tags and the report's counters.

use std::collections::BTreeMap;

use crate::harness::*;

type Run = (
    tempfile::TempDir,
    BTreeMap<String, Row>,
    BTreeMap<String, Row>,
    serde_json::Value,
);

fn run(extra: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let input = fixture("sensitive/records.jsonl");
    let mut args = vec!["run", input.as_str(), "--out", out.to_str().expect("utf-8"), "-q"];
    if !extra.contains(&"--stages") {
        // The sensitive stage alone: other stages' drops and tags are not under test here.
        args.extend_from_slice(&["--stages", "sensitive"]);
    }
    args.extend_from_slice(extra);
    curate_ok(&args);
    let report = assert_accounting(&out);
    let kept = rows_by_id(&out.join("kept"));
    let rejected = rows_by_id(&out.join("rejected"));
    assert_eq!(strings(&out.join("kept"), "id").len(), kept.len(), "ids are unique");
    (tmp, kept, rejected, report)
}

fn pii(spans: &[(u32, u32, u32, &str)]) -> Vec<(u32, u32, u32, String)> {
    spans.iter().map(|(t, s, e, k)| (*t, *s, *e, k.to_string())).collect()
}

#[test]
fn contact_data_is_redacted_in_messages_and_raw_with_spans_in_original_characters() {
    let (_tmp, kept, _, _) = run(&[]);
    let r = &kept["redact-alpaca"];
    assert_eq!(
        r.messages[0],
        "Write a polite reply to <EMAIL> about the invoice.\nHer phone is <PHONE>."
    );
    assert_eq!(r.pii, pii(&[(0, 24, 42, "email"), (0, 75, 89, "phone")]));
    assert!(!r.raw.contains("jane.doe@gmail.com") && r.raw.contains("<EMAIL>"));
    assert!(!r.raw.contains("555-2671"));

    // The system prompt is message 0; offsets count characters, not bytes.
    let r = &kept["redact-messages"];
    assert_eq!(r.messages[0], "You are the support bot for host <IP>.");
    assert!(!r.raw.contains("4539 1488 0343 6467"));
    assert_eq!(
        r.messages[1],
        "Charge my card <CARD> and send the receipt to 王伟 <EMAIL>。"
    );
    assert_eq!(
        r.pii,
        pii(&[
            (0, 33, 40, "ip"),
            (1, 15, 34, "card"),
            (1, 62, 77, "email"),
            (2, 33, 44, "phone")
        ])
    );

    // A real record (glaive_toolcall_zh_demo line 183): its phone and e-mail are
    // a form's placeholder number and an example.com address, left in the text.
    let (_, r) = kept.iter().find(|(id, _)| id.ends_with(":11")).expect("line 11 kept");
    assert_eq!(
        r.messages[2],
        "是的，他的电话号码是123-456-7890，他的电子邮件是johndoe@example.com。"
    );
    assert!(r.pii.iter().any(|p| p.3 == "example:phone") && r.pii.iter().any(|p| p.3 == "example:email"));
}

#[test]
fn example_values_and_values_the_task_asks_for_stay_in_the_text() {
    let (_tmp, kept, _, _) = run(&[]);
    let ex = &kept["keep-example-values"];
    assert_eq!(
        ex.messages[1],
        "Run ping 8.8.8.8, send a test mail to admin@example.com, and pay with the test card 4111 1111 1111 1111."
    );
    let kinds: Vec<&str> = ex.pii.iter().map(|p| p.3.as_str()).collect();
    assert_eq!(kinds, ["example:ip", "example:email", "example:card"]);
    assert!(ex.tags.is_empty(), "{:?}", ex.tags);
    let task = &kept["keep-task-values"];
    assert!(task.messages[0].contains("74.125.224.72, 192.168.256.1, 151.101.1.69"));
    assert!(task.messages[1].starts_with("74.125.224.72 and 151.101.1.69 are valid"));
    assert_eq!(task.tags, ["pii:ip"]);
}

#[test]
fn secrets_government_ids_and_toxic_text_drop_records_with_their_rule() {
    let (_tmp, _, rejected, _) = run(&[]);
    let rule = |id: &str| rejected[id].rule.clone().unwrap_or_default();
    assert_eq!(rule("drop-secret"), "sensitive/pii-secret");
    assert_eq!(rule("drop-cn-id"), "sensitive/pii-cn-id");
    assert_eq!(rule("drop-ssn"), "sensitive/pii-ssn");
    assert_eq!(rule("drop-toxic-en"), "sensitive/toxic-en");
    assert_eq!(rule("drop-toxic-zh"), "sensitive/toxic-zh");
    assert_eq!(
        rejected["drop-secret"].pii,
        pii(&[(0, 47, 67, "secret:aws-key"), (0, 92, 132, "secret:aws-secret")])
    );
    assert_eq!(rejected["drop-cn-id"].pii, pii(&[(0, 10, 28, "cn-id")]));
    // The rejected shards keep the record for audit, without the secret or the id.
    assert!(rejected["drop-secret"].messages[0].contains("aws_access_key_id = <SECRET>"));
    assert!(!rejected["drop-secret"].raw.contains("AKIAQ3EGRT5YHX7LKD2M"));
    assert_eq!(rejected["drop-cn-id"].messages[0], "核对这个身份证号码：<CN_ID>");
    assert_eq!(rejected.len(), 5);
}

#[test]
fn hard_negatives_and_ordinary_chinese_are_kept_untouched() {
    let (_tmp, kept, _, _) = run(&[]);
    for id in ["keep-hard-negatives", "keep-zh-clean"] {
        let r = &kept[id];
        assert!(r.pii.is_empty(), "{id}: {:?}", r.pii);
        assert!(r.tags.is_empty(), "{id}: {:?}", r.tags);
    }
    assert!(kept["keep-hard-negatives"].messages[0].contains("Router: 192.168.1.1."));
    assert_eq!(kept["tag-profanity"].tags, ["toxic:profanity-en"]);
}

#[test]
fn the_report_counts_findings_per_type_and_action() {
    let (_tmp, _, _, report) = run(&[]);
    let stage = report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "sensitive")
        .expect("sensitive stage ran");
    let c = &stage["counts"];
    // Example values (example.com, 123-456-7890, a public resolver, the Visa
    // test card) are counted apart and left in the text; so are the values an
    // instruction asks about.
    assert_eq!(c["pii/email/redact"], 2);
    assert_eq!(c["pii/email/example"], 3);
    assert_eq!(c["pii/phone/redact"], 2);
    assert_eq!(c["pii/phone/example"], 1);
    assert_eq!(c["pii/card/redact"], 1);
    assert_eq!(c["pii/card/example"], 1);
    assert_eq!(c["pii/ip/redact"], 1);
    assert_eq!(c["pii/ip/example"], 1);
    assert_eq!(c["pii/ip/task"], 4);
    assert_eq!(c["pii/secret/drop"], 2);
    assert_eq!(c["pii/cn-id/drop"], 1);
    assert_eq!(c["toxic/toxic-zh/drop"], 1);
    assert_eq!(stage["dropped"], 5);
    assert_eq!(stage["dropped_per_rule"]["sensitive/pii-secret"], 1);
}

#[test]
fn actions_and_placeholders_come_from_pii_toml() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    std::fs::write(
        rules.join("sensitive/pii.toml"),
        "[email]\naction = \"tag\"\n\n[phone]\naction = \"redact\"\nplaceholder = \"[tel]\"\n\n[secret]\naction = \"redact\"\n",
    )
    .expect("write pii.toml");
    let (_t, kept, rejected, report) = run(&["--rules", rules.to_str().expect("utf-8")]);
    let r = &kept["redact-alpaca"];
    assert_eq!(
        r.messages[0],
        "Write a polite reply to jane.doe@gmail.com about the invoice.\nHer phone is [tel]."
    );
    assert!(r.tags.contains(&"pii:email".to_string()));
    // Secrets redacted instead of dropped; types left out of pii.toml are not detected.
    assert!(kept["drop-secret"].messages[0].contains("aws_access_key_id = <SECRET>"));
    assert!(kept["drop-cn-id"].pii.is_empty());
    assert!(!rejected.contains_key("drop-secret"));
    // Without `examples` in pii.toml, example.com addresses are e-mails like any other.
    let stage = &report["stages"][0];
    assert_eq!(stage["counts"]["pii/email/tag"], 5);
}

#[test]
fn pii_toml_errors_name_file_line_and_key() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    std::fs::write(
        rules.join("sensitive/pii.toml"),
        "[email]\naction = \"redact\"\n\n[passport]\naction = \"drop\"\n\n[phone]\naction = \"hide\"\n",
    )
    .expect("write pii.toml");
    let out = curate(&["check-rules", rules.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sensitive/pii.toml"), "{err}");
    assert!(err.contains("unknown PII type `passport`"), "{err}");
    assert!(err.contains("phone.action") || err.contains("hide"), "{err}");
}

#[test]
fn other_languages_lists_are_opt_in() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("de.jsonl");
    std::fs::write(
        &input,
        "{\"instruction\": \"Beschimpfe mich.\", \"input\": \"\", \"output\": \"Du Arschloch, du Fotze!\"}\n\
         {\"instruction\": \"Wie heißt die Hauptstadt?\", \"input\": \"\", \"output\": \"Berlin.\"}\n",
    )
    .expect("write");
    let run = |rules: Option<&std::path::Path>| {
        let out = tmp.path().join(if rules.is_some() { "on" } else { "off" });
        let mut args = vec![
            "run",
            input.to_str().expect("utf-8"),
            "--stages",
            "sensitive",
            "-q",
            "--out",
        ];
        args.push(out.to_str().expect("utf-8"));
        let r;
        if let Some(d) = rules {
            r = d.to_str().expect("utf-8").to_string();
            args.extend(["--rules", &r]);
            curate_ok(&args);
        } else {
            curate_ok(&args);
        }
        strings(&out.join("rejected"), "rule")
    };
    assert!(run(None).is_empty(), "off by default");
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    let path = rules.join("sensitive/ldnoobw.toml");
    let text = std::fs::read_to_string(&path).expect("ldnoobw.toml");
    let on = text.replacen(
        "description = \"LDNOOBW German list (opt-in).\"\nenabled = false",
        "description = \"LDNOOBW German list (opt-in).\"\nenabled = true",
        1,
    );
    assert_ne!(on, text);
    std::fs::write(&path, on).expect("write");
    assert_eq!(run(Some(&rules)), ["sensitive/toxic-de"]);
}

/// Every provider format of `rules/sensitive/secrets/formats.toml` of the
/// simple shape (a prefix, then one character class) finds a random token
/// of that shape in an English or Chinese sentence, with its kind
/// (`scripts/eval/make_provider_tokens.py`), and drops the record.
#[test]
fn provider_tokens_are_found_with_their_kind() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let input = fixture("sensitive/provider_tokens.jsonl");
    curate_ok(&[
        "run",
        &input,
        "--out",
        out.to_str().expect("utf-8"),
        "--stages",
        "sensitive",
        "-q",
    ]);
    let expected: Vec<String> = std::fs::read_to_string(&input)
        .expect("fixture")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            format!("secret:{}", v["kind"].as_str().expect("kind"))
        })
        .collect();
    assert!(expected.len() >= 80, "{}", expected.len());
    let rejected = rows_by_id(&out.join("rejected"));
    assert_eq!(rejected.len(), expected.len(), "every record dropped");
    for (line, kind) in expected.iter().enumerate() {
        let row = rejected
            .values()
            .find(|r| r.raw.contains(&format!("\"kind\": \"{}\"", &kind["secret:".len()..])))
            .unwrap_or_else(|| panic!("line {}: {kind} not dropped", line + 1));
        assert_eq!(row.rule.as_deref(), Some("sensitive/pii-secret"));
        assert!(
            row.pii.iter().any(|p| &p.3 == kind),
            "line {}: {kind} not in {:?}",
            line + 1,
            row.pii
        );
    }
}

/// Numbers and addresses met in `../shared/corpora` that reach no person
/// (toll-free hotlines, numbers counting up, template addresses) stay in the
/// text; a business number in an advert is still redacted.
#[test]
fn hotlines_counting_numbers_and_template_addresses_stay() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = [
        // alpaca_5000, line 2212
        r#"{"id": "hotlines", "instruction": "List the emergency numbers to call.", "input": "", "output": "- Poison Control: 1-800-222-1222\n- Suicide Prevention Hotline: 1-800-273-8255"}"#,
        // alpaca_chinese_carbonz0, line 1404
        r#"{"id": "counting", "instruction": "更新联系人信息。", "input": "", "output": "约翰·史密斯：\n地址：公园街456号\n电话号码：(234) 567-8901"}"#,
        // alpaca_5000, line 885
        r#"{"id": "template", "instruction": "Write a function that sends a text message.", "input": "", "output": "server.login('my_gmail_address@gmail.com', 'my_password')"}"#,
        // self_instruct_user_oriented, line 236
        r#"{"id": "business", "instruction": "Classify this shop.", "input": "Call us at 650-636-4884 or visit our website.", "output": "A repair shop."}"#,
    ];
    let out = run_lines(tmp.path(), &(lines.join("\n") + "\n"), &["--stages", "sensitive"]);
    let kept = rows_by_id(&out.join("kept"));
    assert!(kept["hotlines"].messages[1].contains("1-800-273-8255"));
    assert!(kept["counting"].messages[1].contains("(234) 567-8901"));
    assert!(kept["template"].messages[1].contains("my_gmail_address@gmail.com"));
    assert!(
        kept["business"].messages[0].contains("Call us at <PHONE>"),
        "{:?}",
        kept["business"].messages
    );
    let types: Vec<&str> = kept["hotlines"].pii.iter().map(|p| p.3.as_str()).collect();
    assert_eq!(types, ["example:phone", "example:phone"]);
}
