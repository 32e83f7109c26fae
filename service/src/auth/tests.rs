//! Sign-in against real keys: HS256 with a secret, ES256 with a key pair
//! generated per run and its JWKS served over HTTP on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use super::*;
use crate::Error;

const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters";
const PROJECT: &str = "https://abcd.supabase.co";
const USER: &str = "6f1c2a9e-4b7d-4e1a-9c3f-2d8e5b7a1c40";

struct EcKey {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

fn ec_key(kid: &str) -> EcKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        "key_ops": ["verify"], "ext": true,
    });
    EcKey { kid: kid.into(), pkcs8: pkcs8.as_ref().to_vec(), jwk }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims() -> Value {
    json!({
        "iss": format!("{PROJECT}/auth/v1"), "sub": USER, "aud": "authenticated",
        "role": "authenticated", "email": "ada@example.com", "exp": now() + 3600,
        "iat": now(), "session_id": "5c1f0c2e-1111-4222-8333-944455556666", "is_anonymous": false,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = value;
    }
    claims
}

fn hs256(claims: &Value) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET.as_bytes()))
        .unwrap()
}

fn es256(key: &EcKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    encode(&header, claims, &EncodingKey::from_ec_der(&key.pkcs8)).unwrap()
}

fn config() -> ServiceConfig {
    let mut config = ServiceConfig::new("postgres://localhost/app");
    config.supabase_url = Some(PROJECT.into());
    config
}

fn secret_sign_in() -> SignIn {
    let mut config = config();
    config.jwt_secret = Some(SECRET.into());
    config.jwks_json = Some(r#"{"keys":[]}"#.into());
    SignIn::from_config(&config).unwrap_err();
    config.jwks_json = None;
    config.jwks_url = Some("http://127.0.0.1:9/jwks.json".into());
    SignIn::from_config(&config).unwrap().unwrap()
}

fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

fn reason(result: crate::Result<Session>) -> &'static str {
    let error: Error = result.expect_err("the token must be refused");
    assert_eq!((error.code(), error.http_status()), ("INVALID_TOKEN", 401), "{error}");
    error.reason().unwrap()
}

/// A JWKS server on 127.0.0.1 whose document and answer delay can change,
/// counting fetches.
struct JwksServer {
    url: String,
    document: Arc<Mutex<String>>,
    delay: Arc<Mutex<Duration>>,
    fetches: Arc<AtomicUsize>,
}

fn jwks_server(keys: &[&EcKey]) -> JwksServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/auth/v1/.well-known/jwks.json", listener.local_addr().unwrap());
    let document = Arc::new(Mutex::new(jwks(keys)));
    let fetches = Arc::new(AtomicUsize::new(0));
    let delay = Arc::new(Mutex::new(Duration::ZERO));
    let (doc, count, wait) = (document.clone(), fetches.clone(), delay.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let wait = *wait.lock().unwrap();
            std::thread::sleep(wait);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                line.clear();
            }
            count.fetch_add(1, Ordering::SeqCst);
            let body = doc.lock().unwrap().clone();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(body.as_bytes()).unwrap();
        }
    });
    JwksServer { url, document, delay, fetches }
}

fn jwks(keys: &[&EcKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string()
}

fn jwks_sign_in(url: &str) -> SignIn {
    let mut config = config();
    config.jwks_url = Some(url.into());
    SignIn::from_config(&config).unwrap().unwrap()
}

#[test]
fn a_valid_hs256_token_is_a_session_of_its_user() {
    let session = block(secret_sign_in().verify(&hs256(&claims()))).unwrap();
    assert_eq!(session.user_id().to_string(), USER);
    assert_eq!(session.email(), Some("ada@example.com"));
    assert!(!session.is_anonymous());
}

#[test]
fn every_defect_is_refused_with_its_reason() {
    let sign_in = secret_sign_in();
    let verify = |token: &str| block(sign_in.verify(token));
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    assert_eq!(reason(verify(&format!("{none_header}.{payload}."))), "algorithm_not_allowed");
    assert_eq!(reason(verify("")), "missing");
    assert_eq!(reason(verify("abc")), "malformed");
    assert_eq!(reason(verify("a.b.c.d")), "malformed");
    let expired = with(claims(), "exp", json!(now() - 120));
    assert_eq!(reason(verify(&hs256(&expired))), "expired");
    assert_eq!(reason(verify(&hs256(&with(claims(), "exp", Value::Null)))), "expired");
    let skewed = with(claims(), "exp", json!(now() - 10));
    assert!(verify(&hs256(&skewed)).is_ok(), "10 s past exp is within the 30 s leeway");
    let early = with(claims(), "nbf", json!(now() + 600));
    assert_eq!(reason(verify(&hs256(&early))), "not_yet_valid");
    let audience = with(claims(), "aud", json!("service"));
    assert_eq!(reason(verify(&hs256(&audience))), "wrong_audience");
    assert_eq!(reason(verify(&hs256(&with(claims(), "aud", Value::Null)))), "wrong_audience");
    let issuer = with(claims(), "iss", json!("https://evil.supabase.co/auth/v1"));
    assert_eq!(reason(verify(&hs256(&issuer))), "wrong_issuer");
    assert_eq!(reason(verify(&hs256(&with(claims(), "role", json!("anon"))))), "wrong_role");
    let service_role = with(claims(), "role", json!("service_role"));
    assert_eq!(reason(verify(&hs256(&service_role))), "wrong_role");
    assert_eq!(reason(verify(&hs256(&with(claims(), "sub", json!("admin"))))), "bad_subject");
    assert_eq!(reason(verify(&hs256(&with(claims(), "sub", Value::Null)))), "bad_subject");

    let token = hs256(&claims());
    let (head, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let other =
        URL_SAFE_NO_PAD.encode(with(claims(), "sub", json!(uuid::Uuid::new_v4())).to_string());
    assert_eq!(reason(verify(&format!("{head}.{other}.{signature}"))), "bad_signature");
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"another-secret-of-at-least-32-characters"),
    )
    .unwrap();
    assert_eq!(reason(verify(&forged)), "bad_signature");
}

#[test]
fn es256_keys_come_from_the_jwks_and_an_unknown_kid_refreshes_it_once() {
    let (first, second) = (ec_key("key-1"), ec_key("key-2"));
    let server = jwks_server(&[&first]);
    let sign_in = jwks_sign_in(&server.url);
    block(async {
        let session = sign_in.verify(&es256(&first, &claims())).await.unwrap();
        assert_eq!(session.user_id().to_string(), USER);
        sign_in.verify(&es256(&first, &claims())).await.unwrap();
        assert_eq!(server.fetches.load(Ordering::SeqCst), 1, "the keys are cached");

        *server.document.lock().unwrap() = jwks(&[&first, &second]);
        tokio::time::sleep(keys::MIN_REFRESH).await;
        sign_in.verify(&es256(&second, &claims())).await.expect("a rotated-in key is fetched");
        assert_eq!(server.fetches.load(Ordering::SeqCst), 2);

        let stranger = ec_key("key-3");
        assert_eq!(reason(sign_in.verify(&es256(&stranger, &claims())).await), "unknown_key");
        assert_eq!(reason(sign_in.verify(&es256(&stranger, &claims())).await), "unknown_key");
        assert_eq!(
            server.fetches.load(Ordering::SeqCst),
            2,
            "made-up kids do not refetch each time"
        );

        let impostor = EcKey { kid: "key-1".into(), ..ec_key("x") };
        assert_eq!(reason(sign_in.verify(&es256(&impostor, &claims())).await), "bad_signature");
        let hs = hs256(&claims());
        assert_eq!(
            reason(sign_in.verify(&hs).await),
            "algorithm_not_allowed",
            "no secret: no HS256"
        );
    });
}

#[test]
fn algorithm_confusion_and_shared_secrets_in_the_jwks_are_refused() {
    let key = ec_key("key-1");
    let oct =
        json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(SECRET)});
    let mut config = config();
    config.jwks_json = Some(json!({ "keys": [key.jwk, oct] }).to_string());
    let sign_in = SignIn::from_config(&config).unwrap().unwrap();
    block(async {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("hmac".into());
        let token =
            encode(&header, &claims(), &EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
        assert_eq!(reason(sign_in.verify(&token).await), "algorithm_not_allowed");

        let public = key.jwk["x"].as_str().unwrap().to_owned() + key.jwk["y"].as_str().unwrap();
        header.kid = Some("key-1".into());
        let confused =
            encode(&header, &claims(), &EncodingKey::from_secret(public.as_bytes())).unwrap();
        assert_eq!(reason(sign_in.verify(&confused).await), "algorithm_not_allowed");

        let es = es256(&key, &claims());
        let (_, rest) = es.split_once('.').unwrap();
        let rs_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"key-1"}"#);
        assert_eq!(
            reason(sign_in.verify(&format!("{rs_header}.{rest}")).await),
            "algorithm_not_allowed"
        );
        assert!(sign_in.verify(&es).await.is_ok());
    });
}

/// Issue 33 ("found by reading"): on 6be8e19 the key store's lock was held
/// during the JWKS fetch, so every sign-in waited for a slow JWKS endpoint
/// (here the known key's verify took the fetch's 3 s), and a JWKS answering
/// an empty key set replaced the cache, refusing every token after it
/// (`unknown_key` for the key that had just worked).
#[test]
fn a_slow_or_empty_jwks_neither_blocks_nor_wipes_the_known_keys() {
    let first = ec_key("key-1");
    let server = jwks_server(&[&first]);
    let sign_in = Arc::new(jwks_sign_in(&server.url));
    block(async {
        sign_in.verify(&es256(&first, &claims())).await.unwrap();
        *server.document.lock().unwrap() = r#"{"keys":[]}"#.to_owned();
        *server.delay.lock().unwrap() = Duration::from_secs(3);
        tokio::time::sleep(keys::MIN_REFRESH).await;

        let unknown = es256(&ec_key("key-9"), &claims());
        let refetching = tokio::spawn({
            let sign_in = sign_in.clone();
            async move { sign_in.verify(&unknown).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        sign_in.verify(&es256(&first, &claims())).await.expect("the known key still verifies");
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(2), "a known key waited {waited:?} for the fetch");

        assert_eq!(reason(refetching.await.unwrap()), "unknown_key");
        assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
        sign_in
            .verify(&es256(&first, &claims()))
            .await
            .expect("an empty JWKS does not wipe the cached keys");
    });
}

#[test]
fn an_unreachable_jwks_is_an_internal_error_not_a_refusal() {
    let sign_in = jwks_sign_in("http://127.0.0.1:9/auth/v1/.well-known/jwks.json");
    let error = block(sign_in.verify(&es256(&ec_key("key-1"), &claims()))).unwrap_err();
    assert_eq!((error.code(), error.http_status()), ("AUTH_KEYS_UNAVAILABLE", 500));
}

#[test]
fn the_token_is_found_in_the_header_or_the_ssr_cookie_chunks() {
    let name = cookie_name_for(PROJECT).unwrap();
    let session =
        json!({"access_token": "h.p.s", "refresh_token": "r", "expires_at": 1}).to_string();
    let encoded = format!("base64-{}", URL_SAFE_NO_PAD.encode(&session));
    let (a, b) = encoded.split_at(encoded.len() / 2);
    let chunked = format!("other=1; {name}.1={b}; {name}.0={a}; theme=dark");
    assert_eq!(access_token(None, Some(&chunked), Some(&name)).unwrap(), "h.p.s");
    let raw = format!(
        "{name}={}",
        percent_encoding::utf8_percent_encode(&session, percent_encoding::NON_ALPHANUMERIC)
    );
    assert_eq!(access_token(None, Some(&raw), Some(&name)).unwrap(), "h.p.s");
    let array = format!("{name}=%5B%22h.p.s%22%2C%22r%22%5D");
    assert_eq!(access_token(None, Some(&array), None).unwrap(), "h.p.s");
    assert_eq!(access_token(Some("bearer  x.y.z "), Some(&raw), None).unwrap(), "x.y.z");
    assert_eq!(access_token(Some("Basic dXNlcg=="), None, None), Err(TokenRefusal::Malformed));
    assert_eq!(
        access_token(None, Some("sb-other-auth-token=x"), Some(&name)),
        Err(TokenRefusal::Missing)
    );
    let two = "sb-a-auth-token=%7B%7D; sb-b-auth-token=%7B%7D";
    assert_eq!(access_token(None, Some(two), None), Err(TokenRefusal::Malformed));
    assert_eq!(
        access_token(None, Some(&format!("{name}=base64-!!")), Some(&name)),
        Err(TokenRefusal::Malformed)
    );
    assert_eq!(access_token(None, None, None), Err(TokenRefusal::Missing));
}

#[test]
fn only_app_metadata_makes_an_administrator() {
    use crate::Actor;
    let sign_in = secret_sign_in();
    let admin = json!({ "role": "admin" });
    let session = block(sign_in.verify(&hs256(&with(claims(), "app_metadata", admin.clone()))));
    let session = session.unwrap();
    assert_eq!((session.app_role(), session.is_admin()), (Some("admin"), true));
    // user_metadata is the user's to write: it never makes an administrator.
    let user_set = block(sign_in.verify(&hs256(&with(claims(), "user_metadata", admin)))).unwrap();
    assert_eq!((user_set.app_role(), user_set.is_admin()), (None, false));
    let other_role = json!({ "role": "reviewer", "provider": "email" });
    let reviewer = block(sign_in.verify(&hs256(&with(claims(), "app_metadata", other_role))));
    assert!(!reviewer.unwrap().is_admin());
    assert!(!uuid::Uuid::nil().is_admin(), "a bare user id is never an administrator");
}

/// Issue 33, finding 11: with the project URL known, a token that leaves
/// out `iss` is refused like one with a wrong `iss`. Without a project URL
/// there is no issuer to compare, and none is required.
#[test]
fn a_token_without_iss_is_refused_when_the_project_is_known() {
    let no_issuer = hs256(&with(claims(), "iss", Value::Null));
    let sign_in = secret_sign_in();
    assert_eq!(reason(block(sign_in.verify(&no_issuer))), "wrong_issuer");
    let empty = hs256(&with(claims(), "iss", json!("")));
    assert_eq!(reason(block(sign_in.verify(&empty))), "wrong_issuer");
    let mut unknown_project = ServiceConfig::new("postgres://localhost/app");
    unknown_project.jwt_secret = Some(SECRET.into());
    let sign_in = SignIn::from_config(&unknown_project).unwrap().unwrap();
    assert!(block(sign_in.verify(&no_issuer)).is_ok(), "no project URL: no issuer to require");
}
