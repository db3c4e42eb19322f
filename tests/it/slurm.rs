//! `curate slurm` and `curate status` end to end, with stand-ins for sbatch
//! and squeue (`fake_slurm/`); `scripts/ci/slurm_check.sh` runs them on a real
//! cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::*;

struct Env {
    tmp: tempfile::TempDir,
    out: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        Env { tmp, out }
    }

    fn log(&self) -> PathBuf {
        self.tmp.path().join("sbatch.log")
    }

    /// `curate` with the stand-ins first on PATH (or with `path` as PATH).
    fn curate(&self, args: &[&str], path: Option<&Path>) -> Output {
        let fake = root().join("tests/it/fake_slurm");
        let path = match path {
            Some(p) => p.display().to_string(),
            None => format!("{}:{}", fake.display(), std::env::var("PATH").unwrap_or_default()),
        };
        Command::new(env!("CARGO_BIN_EXE_curate"))
            .args(args)
            .env("PATH", path)
            .env("FAKE_SLURM_LOG", self.log())
            .current_dir(root())
            .output()
            .expect("curate binary runs")
    }

    fn out(&self) -> &str {
        self.out.to_str().expect("utf-8 path")
    }

    fn sbatch_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn script(&self, step: &str) -> String {
        std::fs::read_to_string(self.out.join(format!(".work/slurm/{step}.sbatch"))).expect("script written")
    }

    fn mark_done(&self, step: &str, rank: usize, world: usize) {
        let dir = self.out.join(".work").join(step);
        std::fs::create_dir_all(&dir).expect("step folder");
        let m = format!(r#"{{"step":"{step}","rank":{rank},"world":{world},"host":"h","seconds":1.0,"records":1}}"#);
        std::fs::write(dir.join(format!("_DONE.{rank}")), m).expect("marker written");
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const PLAN: &[&str] = &["fixtures/sample", "--world", "2", "--partition", "cpu", "--mem", "2G"];

fn slurm<'a>(env: &'a Env, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["slurm"];
    a.extend_from_slice(PLAN);
    a.extend_from_slice(&["--out", env.out()]);
    a.extend_from_slice(extra);
    a
}

#[test]
fn slurm_dry_run_writes_the_plan_and_scripts_and_submits_nothing() {
    let env = Env::new();
    let o = env.curate(
        &slurm(&env, &["--dry-run", "--curate", "/opt/curate", "--cpus-per-task", "3"]),
        None,
    );
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(env.out.join("plan.json").exists());
    assert!(env.sbatch_calls().is_empty());
    for step in ["process", "pairs", "decide", "write"] {
        let path = env.out.join(format!(".work/slurm/{step}.sbatch"));
        assert!(stdout.contains(&format!("==> {} <==\n", path.display())), "{stdout}");
    }
    // Each task runs as many threads as it has CPUs.
    let plan = std::fs::read_to_string(env.out.join("plan.json")).expect("plan written");
    let plan: serde_json::Value = serde_json::from_str(&plan).expect("plan is JSON");
    assert_eq!(plan["threads"], 3);
    let process = env.script("process");
    assert!(process.contains("#SBATCH --array=0-1\n"), "{process}");
    for d in ["--partition=cpu", "--cpus-per-task=3", "--mem=2G"] {
        assert!(process.contains(&format!("#SBATCH {d}\n")), "{process}");
    }
    assert!(
        process.contains(&format!("#SBATCH --chdir={}\n", root().display())),
        "{process}"
    );
    assert!(process.contains(&format!(
        "exec /opt/curate process {} --rank \"$SLURM_ARRAY_TASK_ID\" --world 2\n",
        env.out()
    )));
    assert!(env.script("decide").contains("#SBATCH --array=0\n"));
    assert!(
        stdout.contains("decide=$(sbatch --parsable --dependency=afterok:\"${pairs%%;*}\""),
        "{stdout}"
    );
}

#[test]
fn slurm_chains_the_steps_and_resume_submits_only_what_is_missing() {
    let env = Env::new();
    let o = env.curate(&slurm(&env, &[]), None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let calls = env.sbatch_calls();
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(calls[0].starts_with("--parsable /"), "{calls:?}");
    assert!(calls[0].ends_with("/.work/slurm/process.sbatch"), "{calls:?}");
    assert!(calls[1].starts_with("--parsable --dependency=afterok:1001 --kill-on-invalid-dep=yes "));
    assert!(calls[3].starts_with("--parsable --dependency=afterok:1003 --kill-on-invalid-dep=yes "));
    assert!(text(&o.stdout).contains("process: job 1001, ranks 0-1 of 2\n"));

    // process is done, pairs half done: resume submits pairs rank 1 first.
    env.mark_done("process", 0, 2);
    env.mark_done("process", 1, 2);
    env.mark_done("pairs", 0, 2);
    let o = env.curate(&["slurm", "--resume", env.out()], None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.starts_with("process: done, not submitted\npairs: job 1005, rank 1 of 2\n"),
        "{stdout}"
    );
    let calls = env.sbatch_calls();
    assert_eq!(calls.len(), 7, "{calls:?}");
    assert!(calls[4].starts_with("--parsable /"), "{calls:?}");
    assert!(
        calls[5].starts_with("--parsable --dependency=afterok:1005 "),
        "{calls:?}"
    );
    let pairs = env.script("pairs");
    assert!(pairs.contains("#SBATCH --array=1\n"), "{pairs}");
    assert!(pairs.contains("--world 2\n"), "{pairs}");
    // The first submission's resources are kept.
    assert!(pairs.contains("#SBATCH --partition=cpu\n"), "{pairs}");
}

#[test]
fn slurm_wait_judges_the_run_by_its_markers() {
    let env = Env::new();
    let o = env.curate(&slurm(&env, &["--wait", "--poll", "0.1"]), None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains(": incomplete\n"), "{stdout}");
    assert!(stdout.contains("missing:\n  process ranks 0-1\n"), "{stdout}");
}

#[test]
fn slurm_errors_name_the_command_and_its_stderr() {
    let env = Env::new();
    let empty = env.tmp.path().join("empty");
    std::fs::create_dir_all(&empty).expect("folder");
    let o = env.curate(&slurm(&env, &[]), Some(&empty));
    assert_eq!(o.status.code(), Some(1));
    let stderr = text(&o.stderr);
    assert!(stderr.starts_with("error: sbatch --parsable /"), "{stderr}");
    assert!(stderr.contains("sbatch is not on PATH"), "{stderr}");

    let env = Env::new();
    let o = Command::new(env!("CARGO_BIN_EXE_curate"))
        .args(slurm(&env, &[]))
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", root().join("tests/it/fake_slurm").display()),
        )
        .env("FAKE_SLURM_LOG", env.log())
        .env("FAKE_SBATCH_FAIL", "sbatch: error: invalid partition specified: cpu")
        .current_dir(root())
        .output()
        .expect("curate runs");
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("exit status: 1: sbatch: error: invalid partition specified: cpu"),
        "{stderr}"
    );
}

#[test]
fn slurm_refuses_a_planned_folder_without_resume_or_overwrite() {
    let env = Env::new();
    assert!(env.curate(&slurm(&env, &["--dry-run"]), None).status.success());
    let o = env.curate(&slurm(&env, &["--dry-run"]), None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--resume"), "{}", text(&o.stderr));
    let o = env.curate(&slurm(&env, &["--dry-run", "--overwrite"]), None);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn status_exits_1_until_every_task_is_done_and_success_exists() {
    let env = Env::new();
    assert!(env.curate(&slurm(&env, &["--dry-run"]), None).status.success());
    let o = env.curate(&["status", env.out(), "--format", "json"], None);
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status is JSON");
    assert_eq!(j["complete"], false);
    assert_eq!(j["steps"][0]["missing"], serde_json::json!([0, 1]));
    for (step, world) in [("process", 2), ("pairs", 2), ("decide", 1), ("write", 1)] {
        for r in 0..world {
            env.mark_done(step, r, world);
        }
    }
    std::fs::write(env.out.join("_SUCCESS"), "").expect("written");
    let o = env.curate(&["status", env.out()], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).starts_with(&format!("run {}: complete\n", env.out())));
    let o = env.curate(&["status", env.tmp.path().to_str().expect("utf-8")], None);
    assert_eq!(o.status.code(), Some(2), "a folder without a plan is a usage error");
}
