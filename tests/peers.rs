//! The contract of the test peers in `tests/support`: each one driven through real HTTP
//! (or its own client binary), asserting the behaviour the papercast tests rely on.
//! The X server runs behind Prism here, and each X test ends asserting that Prism
//! found nothing outside X's spec.

mod support;

use base64::Engine;
use serde_json::{json, Value};
use sha2::Digest;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::x::{Fault, Upload, When, XApi};

/// A figure of the real blog, for uploads.
fn figure() -> Vec<u8> {
    let path =
        support::corpus_dir().join("site/potm/2025/09/soft-tokens-hard-truths/schematic.png");
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A blocking HTTP client for the tests (the peers' servers run on their own
/// runtimes or processes).
struct Client {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Client {
    fn new(timeout: Duration) -> Client {
        Client {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .pool_max_idle_per_host(0)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an http client"),
        }
    }

    fn try_send(&self, request: reqwest::RequestBuilder) -> reqwest::Result<Reply> {
        self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = response.text().await?;
            Ok(Reply {
                status,
                headers,
                body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            })
        })
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        self.try_send(request).expect("an answer")
    }

    fn get(&self, url: &str, token: &str) -> Reply {
        self.send(self.http.get(url).bearer_auth(token))
    }

    fn post_json(&self, url: &str, token: &str, body: Value) -> Reply {
        self.send(self.http.post(url).bearer_auth(token).json(&body))
    }
}

fn tweet(client: &Client, x: &XApi, body: Value) -> Reply {
    client.post_json(&format!("{}/2/tweets", x.base), &x.bot.token, body)
}

fn ok_id(reply: &Reply) -> String {
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"]["id"].as_str().expect("an id").to_owned()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

#[test]
fn x_thread_with_a_figure_replies_and_search_pass_prism() {
    let x = XApi::start();
    let client = Client::new(Duration::from_secs(30));

    let me = client.get(&format!("{}/2/users/me", x.base), &x.bot.token);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["data"]["username"], "GCResearchTeam");
    assert_eq!(me.header("x-rate-limit-limit"), Some("75"));
    assert_eq!(me.header("x-rate-limit-remaining"), Some("74"));
    let reset: u64 = me
        .header("x-rate-limit-reset")
        .and_then(|r| r.parse().ok())
        .expect("a reset in epoch seconds");
    assert!(reset > now_secs() && reset <= now_secs() + 15 * 60 + 1);

    // The figure as JSON with base64 `media`: it reaches the server intact.
    let png = figure();
    let upload = client.post_json(
        &format!("{}/2/media/upload", x.base),
        &x.bot.token,
        json!({
            "media": base64::engine::general_purpose::STANDARD.encode(&png),
            "media_category": "tweet_image",
        }),
    );
    assert_eq!(upload.status, 200, "{}", upload.body);
    let media_id = upload.body["data"]["id"]
        .as_str()
        .expect("media id")
        .to_owned();
    assert_eq!(upload.body["data"]["image"]["image_type"], "image/png");
    let alt = "A schematic of soft-token reasoning: continuous token mixtures feed the next step.";
    let metadata = client.post_json(
        &format!("{}/2/media/metadata", x.base),
        &x.bot.token,
        json!({"id": media_id, "metadata": {"alt_text": {"text": alt}}}),
    );
    assert_eq!(metadata.status, 200, "{}", metadata.body);

    let head = ok_id(&tweet(
        &client,
        &x,
        json!({"text": "September Papers: the L in ML stands for LLMs 🧵", "media": {"media_ids": [media_id]}}),
    ));
    let second = ok_id(&tweet(
        &client,
        &x,
        json!({"text": "FlowRL matches reward distributions for LLM reasoning.", "reply": {"in_reply_to_tweet_id": head}}),
    ));
    let third = ok_id(&tweet(
        &client,
        &x,
        json!({"text": "Soft tokens, hard truths: continuous chain of thought at scale.", "reply": {"in_reply_to_tweet_id": second}}),
    ));

    // What the server holds: the chain, one conversation, the figure and its alt text.
    let posts = x.posts_by(&x.bot);
    assert_eq!(posts.len(), 3);
    assert_eq!(posts[0].media_ids, vec![media_id.clone()]);
    assert_eq!(posts[1].in_reply_to.as_deref(), Some(head.as_str()));
    assert_eq!(posts[2].in_reply_to.as_deref(), Some(second.as_str()));
    assert!(posts.iter().all(|p| p.conversation_id == head));
    let media = x.media();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].bytes, png, "base64 JSON passes Prism intact");
    assert_eq!(media[0].upload, Upload::Json);
    assert_eq!(media[0].alt_text.as_deref(), Some(alt));

    // The account's own posts, newest first, with the fields asked for.
    let own = client.get(
        &format!(
            "{}/2/users/{}/tweets?max_results=5&tweet.fields=conversation_id,referenced_tweets,created_at",
            x.base, x.bot.id
        ),
        &x.bot.token,
    );
    assert_eq!(own.status, 200, "{}", own.body);
    let ids: Vec<&str> = own.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, vec![third.as_str(), second.as_str(), head.as_str()]);
    assert_eq!(own.body["data"][0]["referenced_tweets"][0]["id"], second);
    assert_eq!(own.body["meta"]["result_count"], 3);

    // A reader replies; recent search on the conversation finds it, with its author.
    let alice = x.add_user("alice_reads", "Alice");
    let answer = x.reply_as(&alice, &second, "Does FlowRL need a reward model?");
    x.like(&alice, &second);
    let search = client.get(
        &format!(
            "{}/2/tweets/search/recent?query=conversation_id:{head}\
             &tweet.fields=author_id,conversation_id,created_at,referenced_tweets,public_metrics\
             &expansions=author_id",
            x.base
        ),
        &x.bot.token,
    );
    assert_eq!(search.status, 200, "{}", search.body);
    let found = search.body["data"].as_array().expect("data");
    let reply = found
        .iter()
        .find(|p| p["id"] == answer)
        .expect("the reader's reply in the search");
    assert_eq!(reply["author_id"], alice.id);
    assert_eq!(reply["conversation_id"], head);
    assert_eq!(
        reply["referenced_tweets"][0],
        json!({"type": "replied_to", "id": second})
    );
    assert_eq!(
        reply["text"],
        "@GCResearchTeam Does FlowRL need a reward model?"
    );
    let liked = found
        .iter()
        .find(|p| p["id"] == second)
        .expect("the second post");
    assert_eq!(liked["public_metrics"]["like_count"], 1);
    assert_eq!(liked["public_metrics"]["reply_count"], 2);
    let users = search.body["includes"]["users"]
        .as_array()
        .expect("includes.users");
    assert!(users.iter().any(|u| u["username"] == "alice_reads"));

    // And the bot's mentions.
    let mentions = client.get(
        &format!(
            "{}/2/users/{}/mentions?tweet.fields=author_id",
            x.base, x.bot.id
        ),
        &x.bot.token,
    );
    assert_eq!(mentions.status, 200, "{}", mentions.body);
    assert_eq!(mentions.body["data"][0]["id"], answer);

    // A post that is gone: 200 with an error list, as on X.
    let gone = client.get(
        &format!("{}/2/tweets/1234567890123456789", x.base),
        &x.bot.token,
    );
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(gone.body["errors"][0]["title"], "Not Found Error");

    // One post and one user by id; a deletion.
    let one = client.get(
        &format!(
            "{}/2/tweets/{head}?tweet.fields=attachments,author_id",
            x.base
        ),
        &x.bot.token,
    );
    assert_eq!(
        one.body["data"]["attachments"]["media_keys"][0],
        format!("3_{media_id}")
    );
    let user = client.get(&format!("{}/2/users/{}", x.base, alice.id), &x.bot.token);
    assert_eq!(user.body["data"]["username"], "alice_reads");
    let deleted = client.send(
        client
            .http
            .delete(format!("{}/2/tweets/{third}", x.base))
            .bearer_auth(&x.bot.token),
    );
    assert_eq!(deleted.body["data"]["deleted"], true, "{}", deleted.body);
    assert!(x.post(&third).is_some_and(|p| p.deleted));

    // Paging through the account's posts.
    for n in 0..5 {
        ok_id(&tweet(
            &client,
            &x,
            json!({"text": format!("Filler post {n}")}),
        ));
    }
    let first_page = client.get(
        &format!("{}/2/users/{}/tweets?max_results=5", x.base, x.bot.id),
        &x.bot.token,
    );
    assert_eq!(first_page.body["meta"]["result_count"], 5);
    let next = first_page.body["meta"]["next_token"]
        .as_str()
        .expect("next_token");
    let second_page = client.get(
        &format!(
            "{}/2/users/{}/tweets?max_results=5&pagination_token={next}",
            x.base, x.bot.id
        ),
        &x.bot.token,
    );
    let rest: Vec<&str> = second_page.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(rest, vec![second.as_str(), head.as_str()]);
    assert!(second_page.body["meta"]["next_token"].is_null());

    // The app's usage: the posts its reads returned.
    let usage = client.get(&format!("{}/2/usage/tweets", x.base), &x.app_token());
    assert_eq!(usage.status, 200, "{}", usage.body);
    let read: u64 = usage.body["data"]["project_usage"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .expect("project_usage");
    assert!(read >= 10, "{}", usage.body);

    assert_eq!(x.requests("POST /2/tweets"), 8);
    x.assert_no_violations();
}

#[test]
fn x_refuses_duplicates_and_rate_limits_with_reset_headers() {
    let x = XApi::start();
    let client = Client::new(Duration::from_secs(30));
    let text = json!({"text": "Papers of the Month: October"});
    ok_id(&tweet(&client, &x, text.clone()));

    let duplicate = tweet(&client, &x, text);
    assert_eq!(duplicate.status, 403, "{}", duplicate.body);
    assert_eq!(
        duplicate.body["detail"],
        "You are not allowed to create a Tweet with duplicate content."
    );
    for field in ["title", "type", "status", "code", "message"] {
        assert!(
            !duplicate.body[field].is_null(),
            "{field} in {}",
            duplicate.body
        );
    }

    // 429 with a reset two seconds away; early retries get 429 too, then it passes.
    x.inject(
        When::next("POST /2/tweets"),
        Fault::RateLimited {
            reset_in: Duration::from_secs(2),
        },
    );
    let limited = tweet(&client, &x, json!({"text": "one"}));
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.header("x-rate-limit-remaining"), Some("0"));
    let reset: u64 = limited
        .header("x-rate-limit-reset")
        .and_then(|r| r.parse().ok())
        .expect("x-rate-limit-reset");
    assert!(
        (now_secs()..=now_secs() + 3).contains(&reset),
        "reset {reset}"
    );
    assert_eq!(tweet(&client, &x, json!({"text": "one"})).status, 429);
    while now_secs() <= reset {
        std::thread::sleep(Duration::from_millis(100));
    }
    ok_id(&tweet(&client, &x, json!({"text": "one"})));

    // A window's own limit.
    x.set_rate_limit("POST /2/tweets", 1, Duration::from_secs(60));
    ok_id(&tweet(&client, &x, json!({"text": "two"})));
    let over = tweet(&client, &x, json!({"text": "three"}));
    assert_eq!(over.status, 429, "{}", over.body);
    assert_eq!(x.posts_by(&x.bot).len(), 3);
    x.assert_no_violations();
}

#[test]
fn x_faults_commit_then_503_hold_and_status() {
    let x = XApi::start();
    let client = Client::new(Duration::from_secs(30));

    // Committed, then 503: the post is there to be found, and resending is a duplicate.
    x.inject(When::next("POST /2/tweets"), Fault::CommitThen(503));
    let failed = tweet(&client, &x, json!({"text": "The head post"}));
    assert_eq!(failed.status, 503, "{}", failed.body);
    let own = client.get(
        &format!("{}/2/users/{}/tweets", x.base, x.bot.id),
        &x.bot.token,
    );
    assert_eq!(own.body["data"][0]["text"], "The head post", "{}", own.body);
    assert_eq!(
        tweet(&client, &x, json!({"text": "The head post"})).status,
        403
    );

    // Held past the client's timeout: the client gives up, the post exists.
    x.inject(
        When::next("POST /2/tweets"),
        Fault::Hold(Duration::from_secs(3)),
    );
    let impatient = Client::new(Duration::from_millis(800));
    let timed_out = impatient.try_send(
        impatient
            .http
            .post(format!("{}/2/tweets", x.base))
            .bearer_auth(&x.bot.token)
            .json(&json!({"text": "A reply nobody heard of"})),
    );
    assert!(timed_out.is_err_and(|e| e.is_timeout()));
    assert!(x
        .posts_by(&x.bot)
        .iter()
        .any(|p| p.text == "A reply nobody heard of"));

    // Status 500 for the second and third requests after this one.
    x.inject(
        When::next("POST /2/tweets").after(1).times(2),
        Fault::Status(500),
    );
    let statuses: Vec<u16> = ["a", "b", "c", "d"]
        .iter()
        .map(|t| tweet(&client, &x, json!({"text": t})).status)
        .collect();
    assert_eq!(statuses, vec![201, 500, 500, 201]);

    // A slow answer that still commits.
    x.inject(
        When::next("POST /2/tweets"),
        Fault::Slow(Duration::from_millis(300)),
    );
    let started = std::time::Instant::now();
    ok_id(&tweet(&client, &x, json!({"text": "slow"})));
    assert!(started.elapsed() >= Duration::from_millis(300));
    x.assert_no_violations();
}

fn pkce_pair() -> (String, String) {
    let verifier: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(64)
        .collect();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()).as_slice());
    (verifier, challenge)
}

#[test]
fn x_oauth_login_with_pkce_and_refresh_rotation() {
    let x = XApi::start();
    let client = Client::new(Duration::from_secs(30));
    let redirect = "http://127.0.0.1:9/callback";
    x.register_callback(redirect);
    let (verifier, challenge) = pkce_pair();
    let mut address = url::Url::parse(&x.authorize_url()).expect("url");
    address
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &x.client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair(
            "scope",
            "tweet.read tweet.write users.read media.write offline.access",
        )
        .append_pair("state", "s-42")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let back = url::Url::parse(&x.approve(address.as_str())).expect("redirect url");
    let query: std::collections::HashMap<String, String> =
        back.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "s-42");
    let code = query["code"].clone();

    let exchange = |code: &str, verifier: &str| {
        client.send(client.http.post(x.token_url()).form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
            ("client_id", x.client_id.as_str()),
        ]))
    };
    let wrong = exchange(&code, &pkce_pair().0);
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    // The failed try used the code up, as a code works once: approve again.
    let back = url::Url::parse(&x.approve(address.as_str())).expect("redirect url");
    let code: String = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let tokens = exchange(&code, &verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(tokens.body["token_type"], "bearer");
    assert_eq!(tokens.body["expires_in"], 7200);
    let access = tokens.body["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    let refresh = tokens.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_eq!(exchange(&code, &verifier).status, 400, "a code works once");
    let me = client.get(&format!("{}/2/users/me", x.base), &access);
    assert_eq!(me.body["data"]["id"], x.bot.id);

    // Expired: 401; a refresh rotates the refresh token and refuses the old one.
    x.expire_access_tokens();
    assert_eq!(
        client
            .get(&format!("{}/2/users/me", x.base), &access)
            .status,
        401
    );
    let refresh_with = |token: &str| {
        client.send(client.http.post(x.token_url()).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", x.client_id.as_str()),
        ]))
    };
    let renewed = refresh_with(&refresh);
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let new_refresh = renewed.body["refresh_token"].as_str().expect("refresh");
    assert_ne!(new_refresh, refresh);
    let new_access = renewed.body["access_token"].as_str().expect("access");
    assert_eq!(
        client
            .get(&format!("{}/2/users/me", x.base), new_access)
            .status,
        200
    );
    let reused = refresh_with(&refresh);
    assert_eq!(reused.status, 400, "{}", reused.body);
    assert_eq!(reused.body["error"], "invalid_request");
    assert_eq!(refresh_with(new_refresh).status, 200);

    // Short-lived tokens, as a test that waits for expiry sets them.
    x.set_token_lifetime(Duration::from_secs(1));
    let short = x.fresh_token(&x.bot);
    assert_eq!(
        client.get(&format!("{}/2/users/me", x.base), &short).status,
        200
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        client.get(&format!("{}/2/users/me", x.base), &short).status,
        401
    );
    x.assert_no_violations();
}

#[test]
fn x_prism_reports_a_request_outside_the_spec() {
    let x = XApi::start();
    let client = Client::new(Duration::from_secs(30));
    // `visibility` is Mastodon's; X's CreatePostsRequest allows no other fields.
    let refused = tweet(
        &client,
        &x,
        json!({"text": "hello", "visibility": "public"}),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(x.requests("POST /2/tweets"), 0, "Prism stops it");
    let violations = x.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].path, "/2/tweets");
    assert!(violations[0].body["validation"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("visibility")));
    // Prism writes its log line just after it answers.
    support::rig::wait_until("Prism's log line", Duration::from_secs(10), || {
        support::x::prism_logged_errors()
            .iter()
            .any(|line| line.contains("post /2/tweets") && line.contains("UNPROCESSABLE_ENTITY"))
    });
}

#[test]
fn x_media_multipart_bytes_and_limits_on_the_server_itself() {
    let x = XApi::start_direct();
    let client = Client::new(Duration::from_secs(30));
    let png = figure();
    let boundary = "papercast-test-boundary-7d3";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"media_category\"\r\n\r\ntweet_image\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"schematic.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&png);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let upload = client.send(
        client
            .http
            .post(format!("{}/2/media/upload", x.direct))
            .bearer_auth(&x.bot.token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body),
    );
    assert_eq!(upload.status, 200, "{}", upload.body);
    let media = x.media();
    assert_eq!(media[0].upload, Upload::Multipart);
    assert_eq!(media[0].bytes, png);

    // Over 5 MB: the real figure with zeros after its end.
    let mut big = png.clone();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let too_big = client.post_json(
        &format!("{}/2/media/upload", x.direct),
        &x.bot.token,
        json!({"media": base64::engine::general_purpose::STANDARD.encode(&big), "media_category": "tweet_image"}),
    );
    assert_eq!(too_big.status, 400, "{}", too_big.body);

    // Not an image.
    let text = client.post_json(
        &format!("{}/2/media/upload", x.direct),
        &x.bot.token,
        json!({"media": base64::engine::general_purpose::STANDARD.encode(b"hello"), "media_category": "tweet_image"}),
    );
    assert_eq!(text.status, 400, "{}", text.body);

    // Alt text over 1000 characters.
    let id = upload.body["data"]["id"].as_str().expect("id");
    let long = client.post_json(
        &format!("{}/2/media/metadata", x.direct),
        &x.bot.token,
        json!({"id": id, "metadata": {"alt_text": {"text": "a".repeat(1001)}}}),
    );
    assert_eq!(long.status, 400, "{}", long.body);

    // Over 280 weighted characters by twitter-text (CJK weighs 2): 141 × 2 = 282.
    let long_post = tweet(&client, &x, json!({"text": "論".repeat(141)}));
    assert_eq!(long_post.status, 403, "{}", long_post.body);
    ok_id(&tweet(&client, &x, json!({"text": "論".repeat(140)})));
}

#[test]
fn postgres_gives_each_test_a_fresh_database() {
    let first = support::postgres::database();
    let second = support::postgres::database();
    assert_ne!(first.name, second.name);
    assert!(first
        .url
        .starts_with(&format!("postgres://postgres@127.0.0.1:{}/t_", first.port)));
    first.psql("CREATE TABLE drafts (id serial PRIMARY KEY, title text NOT NULL)");
    first.psql("INSERT INTO drafts (title) VALUES ('October papers')");
    assert_eq!(
        first.psql("SELECT title FROM drafts").trim(),
        "October papers"
    );
    assert_eq!(
        second
            .psql("SELECT count(*) FROM pg_tables WHERE tablename = 'drafts'")
            .trim(),
        "0"
    );
    // A client reaches it by the URL alone.
    let output = std::process::Command::new(support::postgres::bin_dir().join("psql"))
        .args([first.url.as_str(), "-XAtc", "SELECT count(*) FROM drafts"])
        .output()
        .expect("psql");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1");
    let name = first.name.clone();
    drop(first);
    let left = support::postgres::cluster().psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    );
    assert_eq!(left.trim(), "0", "dropped with its handle");
}

#[test]
fn bluesky_appview_shows_replies_likes_and_reposts() {
    let net = support::bluesky::Pds::start_with_appview();
    let bot = net.new_account("gcresearch");
    let alice = net.new_account("alice");
    let head = net.post(&bot, "September Papers: the L in ML stands for LLMs");
    let paper = net.reply(&bot, &head.uri, "FlowRL matches reward distributions.");
    let answer = net.reply(&alice, &paper.uri, "Does it need a reward model?");
    net.like(&alice, &paper.uri);
    net.repost(&alice, &paper.uri);

    let view = net.wait_indexed(&answer.uri);
    assert_eq!(view["author"]["handle"], "alice.test");
    net.wait_for("the like and the repost", || {
        net.indexed_post(&paper.uri)
            .is_some_and(|p| p["likeCount"] == 1 && p["repostCount"] == 1 && p["replyCount"] == 1)
    });

    // Through the PDS with the bot's session, as papercast reads it.
    let thread = net.thread(&bot, &head.uri);
    let under_paper = &thread["thread"]["replies"][0]["replies"][0]["post"];
    assert_eq!(under_paper["uri"], answer.uri.as_str());
    assert_eq!(
        under_paper["record"]["text"],
        "Does it need a reward model?"
    );
    // Notifications follow on their own.
    net.wait_for("reply, like and repost notifications", || {
        let notifications = net.read(&bot, "app.bsky.notification.listNotifications", &[]);
        let reasons: Vec<&str> = notifications["notifications"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["reason"].as_str())
            .collect();
        ["reply", "like", "repost"]
            .iter()
            .all(|reason| reasons.contains(reason))
    });

    // A deleted reply leaves the thread.
    net.delete(&alice, &answer.uri);
    net.wait_for("the deleted reply to leave the thread", || {
        net.thread(&bot, &head.uri)["thread"]["replies"][0]["replies"]
            .as_array()
            .is_some_and(|r| r.is_empty())
    });
}
