//! The OpenAPI document against the running app: served as built, each
//! described operation answers at its path (never the API's «no such
//! method»), every operation is complete (summary, tag, unique id, its
//! path parameters, the error answers), and the reference page loads its
//! scripts from the app itself.

use std::collections::HashSet;

use crate::helpers::*;
use domain::PgPool;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((path.clone(), m.to_string(), op.clone()));
            }
        }
    }
    out
}

#[test]
fn every_operation_is_described_completely() {
    let doc = serde_json::to_value(server::routes::openapi::document()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = operations(&doc);
    assert!(ops.len() >= 147, "only {} operations described", ops.len());
    let mut ids = HashSet::new();
    for (path, method, op) in &ops {
        let at = format!("{method} {path}");
        assert!(path.starts_with("/api/v1/") || path.starts_with("/api/bots"), "{at}");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{at}: summary");
        assert_eq!(op["tags"].as_array().map(Vec::len), Some(1), "{at}: tag");
        let id = op["operationId"].as_str().expect("operationId").to_string();
        assert!(ids.insert(id.clone()), "{at}: operationId {id} twice");
        let declared: HashSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        for seg in path.split('/').filter(|s| s.starts_with('{')) {
            let name = seg.trim_matches(|c| c == '{' || c == '}');
            assert!(declared.contains(name), "{at}: path parameter {name}");
        }
        let answers = op["responses"].as_object().unwrap();
        assert!(answers.keys().any(|k| k.starts_with('2') || k.starts_with('3')), "{at}");
        assert!(answers.contains_key("400"), "{at}: 400");
        let public = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().all(|r| r == &serde_json::json!({})));
        if !public {
            for status in ["401", "403", "429"] {
                assert!(answers.contains_key(status), "{at}: {status}");
            }
        }
        if method == "post" && path.starts_with("/api/v1/") && !public {
            let key = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
            assert!(key, "{at}: Idempotency-Key");
        }
    }
    // The one public route is the website form.
    let public: Vec<_> = ops
        .iter()
        .filter(|(_, _, op)| {
            op["security"]
                .as_array()
                .is_some_and(|s| s.iter().all(|r| r == &serde_json::json!({})))
        })
        .map(|(p, m, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(public, vec!["post /api/v1/forms/{key}"]);
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("token") && schemes.contains_key("session"));
    assert!(schemes["token"]["description"]
        .as_str()
        .unwrap()
        .contains("leads:write"));
    assert_eq!(
        doc["components"]["schemas"]["Error"]["required"],
        serde_json::json!(["code", "message"])
    );
}

/// Every route of the API modules goes through `routes!`, which is what
/// puts it in the document: a plain `.route(` there would be a route
/// without a description.
#[test]
fn no_api_route_bypasses_the_description() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes/api");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.push(concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes/telegram.rs").into());
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let body = if f.ends_with("telegram.rs") {
            &src[src.find("pub fn api_router").unwrap()..]
        } else {
            &src[..]
        };
        assert!(!body.contains(".route("), "{} registers a route by hand", f.display());
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_document_and_the_reference_page_are_served(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let r = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let served: Value = r.json().await.unwrap();
    let built = serde_json::to_value(server::routes::openapi::document()).unwrap();
    assert_eq!(served, built);

    let r = app.client.get(app.url("/api/v1/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    let page = r.text().await.unwrap();
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no outside address: {page}"
    );
    for asset in [
        "/api/v1/docs/ui/swagger-ui-bundle.js",
        "/api/v1/docs/ui/swagger-ui.css",
        "/api/v1/docs/init.js",
    ] {
        assert!(page.contains(asset), "{asset}");
        let r = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }

    // Each described operation is a route of the app: without a token it
    // is refused as unauthenticated, not answered with «no such method».
    let mut checked = 0;
    for (path, method, _) in operations(&built) {
        if path == "/api/v1/forms/{key}" {
            continue;
        }
        let concrete = path
            .replace("{number}", "1")
            .replace("{chat_id}", "1")
            .replace("{role}", "partner")
            .replace("{kind}", "act")
            .replace("{key}", "leads_total")
            .replace("{id}", "00000000-0000-0000-0000-000000000000");
        let req = app
            .client
            .request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert_eq!(body["code"], "unauthenticated", "{method} {path}");
        checked += 1;
    }
    assert!(checked >= 146);
}
