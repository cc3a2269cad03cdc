//! `POST /kill` and `POST /kill/reset`: auth (token, TOTP, rate limit), kill file, shm
//! control word, reset safety rule and the audit log.

mod common;

use axum::http::StatusCode;
use common::{Env, bearer, post, send};
use obi_agent::auth::build_totp;
use obi_agent::secrets::Secret;
use obi_shm::GaugeId;

const KILL_BODY: &str = r#"{"reason":"drill"}"#;

#[tokio::test]
async fn missing_or_wrong_token_is_401_without_detail() {
    let env = Env::new();
    let state = env.state(true, false);
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong-token-xxxxxxxxxx")],
        vec![("authorization", "Basic abc")],
    ] {
        let r = send(&state, post("/kill", &headers, KILL_BODY)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json(), serde_json::json!({"error": "unauthorized"}));
    }
    assert!(!env.kill_file().exists());
    let audit = env.audit_lines();
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[0]["action"], "kill");
    assert_eq!(audit[0]["result"], "denied");
    assert!(audit[0]["who"]["token_id"].is_null());
    // Reset needs the token too (a fresh state: this client is rate-limited by now).
    let state = env.state(true, false);
    let r = send(&state, post("/kill/reset", &[], "")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_auth_is_rate_limited() {
    let env = Env::new();
    let state = env.state(true, false);
    // max_failed_auth = 3 in the test config.
    for _ in 0..3 {
        let r = send(
            &state,
            post(
                "/kill",
                &[("authorization", "Bearer nope-nope-nope-nope")],
                KILL_BODY,
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let bearer = bearer();
    let r = send(
        &state,
        post("/kill", &[("authorization", &bearer)], KILL_BODY),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even a right token waits"
    );
    assert!(!env.kill_file().exists());
    let m = common::get(&state, "/metrics").await.body;
    assert!(m.contains("obi_agent_auth_failures_total 4\n"), "{m}");
}

#[tokio::test]
async fn control_disabled_without_token() {
    let env = Env::new();
    let state = env.state(false, false);
    let bearer = bearer();
    let r = send(
        &state,
        post("/kill", &[("authorization", &bearer)], KILL_BODY),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["error"], "control_disabled");
}

#[tokio::test]
async fn kill_without_engine_writes_file_and_audit() {
    let env = Env::new();
    let state = env.state(true, false);
    let bearer = bearer();
    let r = send(
        &state,
        post("/kill", &[("authorization", &bearer)], KILL_BODY),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!(j["result"], "ok");
    assert!(j["kill_request_seq"].is_null());
    assert_eq!(j["engine_state"], "no_file");
    let content = std::fs::read_to_string(env.kill_file()).unwrap();
    assert!(content.starts_with("reason=drill\ntime="), "{content}");
    assert!(content.contains("\nby="), "{content}");

    let audit = env.audit_lines();
    assert_eq!(audit.len(), 1);
    let a = &audit[0];
    assert_eq!(a["action"], "kill");
    assert_eq!(a["result"], "ok");
    assert_eq!(a["reason"], "drill");
    assert_eq!(a["who"]["token_id"].as_str().unwrap().len(), 8);
    assert!(a["time"].as_str().unwrap().ends_with('Z'));
    assert!(a["unix_ms"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(
        !std::fs::read_to_string(env.state_dir.join("agent-audit.jsonl"))
            .unwrap()
            .contains(common::TOKEN)
    );

    // Health now reports the kill file.
    let h = common::get(&state, "/healthz").await;
    assert!(h.body.contains("kill file present"), "{}", h.body);

    // Reset with no engine: allowed, clears the file.
    let r = send(
        &state,
        post("/kill/reset", &[("authorization", &bearer)], ""),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["kill_file_removed"], true);
    assert!(r.json()["reset_request_seq"].is_null());
    assert!(!env.kill_file().exists());
    assert_eq!(env.audit_lines()[1]["action"], "kill_reset");
}

#[tokio::test]
async fn bad_kill_bodies_are_400() {
    let env = Env::new();
    let state = env.state(true, false);
    let bearer = bearer();
    for body in [
        "",
        "{}",
        r#"{"reason":""}"#,
        r#"{"reason":"x","extra":1}"#,
        "not json",
    ] {
        let r = send(&state, post("/kill", &[("authorization", &bearer)], body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json()["error"], "bad_request");
    }
    assert!(!env.kill_file().exists());
}

#[tokio::test]
async fn kill_sets_control_word_and_reset_waits_for_safety() {
    let env = Env::new();
    let state = env.state(true, false);
    let mut w = env.start_engine(42);
    state.refresh_engine();
    let bearer = bearer();
    let auth = [("authorization", bearer.as_str())];

    let r = send(&state, post("/kill", &auth, KILL_BODY)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let seq = r.json()["kill_request_seq"].as_u64().unwrap();
    let pending = w.poll_control();
    assert_eq!(pending.kill_seq, Some(seq));
    assert_eq!(
        pending.kill_reason_code,
        obi_agent::control::HTTP_KILL_REASON_CODE
    );
    assert!(env.kill_file().exists());

    // Not acknowledged yet: refused.
    let r = send(
        &state,
        post("/kill/reset", &auth, r#"{"reason":"drill over"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("not acknowledged")
    );
    assert!(env.kill_file().exists());

    // Acknowledged, but orders still open: refused.
    w.ack_kill(seq);
    w.publish(|g| {
        g.set(GaugeId::KillState, 1);
        g.set(GaugeId::OpenOrders, 2);
    });
    let r = send(&state, post("/kill/reset", &auth, "")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("2 open orders")
    );

    // Halted with nothing open: reset goes through to shm.
    w.publish(|g| g.set(GaugeId::OpenOrders, 0));
    let r = send(
        &state,
        post("/kill/reset", &auth, r#"{"reason":"drill over"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let reset_seq = r.json()["reset_request_seq"].as_u64().unwrap();
    assert_eq!(w.poll_control().reset_seq, Some(reset_seq));
    assert!(!env.kill_file().exists());

    let results: Vec<String> = env
        .audit_lines()
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                a["action"].as_str().unwrap(),
                a["result"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            "kill ok",
            "kill_reset refused",
            "kill_reset refused",
            "kill_reset ok"
        ]
    );
}

#[tokio::test]
async fn reset_refused_when_engine_stale() {
    let env = Env::new();
    let state = env.state(true, false);
    let mut w = env.start_engine(5);
    w.heartbeat(obi_agent::engine::unix_now_ns() - 60_000_000_000);
    let bearer = bearer();
    let r = send(
        &state,
        post("/kill/reset", &[("authorization", &bearer)], ""),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["message"].as_str().unwrap().contains("stale"));
}

#[tokio::test]
async fn totp_is_required_and_checked() {
    let env = Env::new();
    let state = env.state(true, true);
    let bearer = bearer();

    let r = send(
        &state,
        post("/kill", &[("authorization", &bearer)], KILL_BODY),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json(), serde_json::json!({"error": "forbidden"}));

    let r = send(
        &state,
        post(
            "/kill",
            &[("authorization", &bearer), ("x-2fa-token", "000000")],
            KILL_BODY,
        ),
    )
    .await;
    // 000000 is the right code once in a million steps; a collision would only make this
    // assertion flaky, never a wrong pass elsewhere.
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let code = build_totp(&Secret::new(common::TOTP_B32))
        .unwrap()
        .generate_current()
        .unwrap();
    let r = send(
        &state,
        post(
            "/kill",
            &[("authorization", &bearer), ("x-2fa-token", &code)],
            KILL_BODY,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(env.kill_file().exists());

    // A used code is not accepted again (no replay).
    let r = send(
        &state,
        post(
            "/kill",
            &[("authorization", &bearer), ("x-2fa-token", &code)],
            KILL_BODY,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The token is still checked first: a right code with a wrong token is 401 (a fresh
    // state: this client has used up its failed attempts).
    let state = env.state(true, true);
    let r = send(
        &state,
        post(
            "/kill",
            &[
                ("authorization", "Bearer nope-nope-nope-nope"),
                ("x-2fa-token", &code),
            ],
            KILL_BODY,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
