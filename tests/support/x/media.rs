//! Media upload (`POST /2/media/upload`, JSON with base64 `media` or multipart) and
//! alt text (`POST /2/media/metadata`).

use super::state::{
    invalid_request, x_error, Answer, Request, State, Upload, XMedia, ALT_LIMIT, GIF_LIMIT,
    IMAGE_LIMIT,
};
use base64::Engine;
use serde_json::{json, Value};

impl State {
    pub(super) fn upload(&mut self, user: usize, request: &Request) -> Answer {
        let json_body = request
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/json"));
        let (bytes, category, upload) = if json_body {
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return invalid_request("body", "The request body is not JSON.");
            };
            let Some(encoded) = body["media"].as_str() else {
                return invalid_request("media", "The `media` field is required.");
            };
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
                return invalid_request("media", "The `media` field is not valid base64.");
            };
            let category = body["media_category"].as_str().map(str::to_owned);
            (bytes, category, Upload::Json)
        } else if !request.parts.is_empty() {
            let field = |name: &str| {
                request
                    .parts
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            let Some(bytes) = field("media") else {
                return invalid_request("media", "The `media` part is required.");
            };
            let category =
                field("media_category").map(|v| String::from_utf8_lossy(&v).into_owned());
            (bytes, category, Upload::Multipart)
        } else {
            return invalid_request(
                "body",
                "Send media as JSON (base64 `media`) or as multipart/form-data.",
            );
        };
        let Some(category) = category else {
            return invalid_request("media_category", "The `media_category` field is required.");
        };
        let (limit, allowed): (usize, &[&str]) = match category.as_str() {
            "tweet_image" => (
                IMAGE_LIMIT,
                &["image/png", "image/jpeg", "image/webp", "image/gif"],
            ),
            "tweet_gif" => (GIF_LIMIT, &["image/gif"]),
            other => {
                return invalid_request(
                    "media_category",
                    &format!(
                    "media_category {other} is not supported by this test server (images only)."
                ),
                )
            }
        };
        if bytes.len() > limit {
            return invalid_request(
                "media",
                &format!("File size exceeds {limit} bytes ({} sent).", bytes.len()),
            );
        }
        let Some((kind, size)) = image(&bytes).filter(|(kind, _)| allowed.contains(kind)) else {
            // Prism forwards binary multipart parts re-encoded as UTF-8: say so, since
            // X itself would never see such bytes.
            let mangled =
                upload == Upload::Multipart && bytes.starts_with("\u{fffd}PNG".as_bytes());
            let message = if mangled {
                "media type unrecognized. (Test server: these bytes were re-encoded as text, \
                 as Prism does to multipart bodies; upload JSON with base64 `media` through \
                 Prism, or multipart to XApi::direct.)"
            } else {
                "media type unrecognized."
            };
            return invalid_request("media", message);
        };
        let (width, height) = size.unzip();
        let id = self.new_id();
        let media = XMedia {
            media_key: format!("3_{id}"),
            id,
            owner_id: self.users[user].id.clone(),
            category,
            content_type: kind.to_owned(),
            bytes,
            alt_text: None,
            upload,
            width,
            height,
        };
        let mut image = json!({"image_type": media.content_type});
        if let (Some(w), Some(h)) = (width, height) {
            image["w"] = w.into();
            image["h"] = h.into();
        }
        let answer = json!({"data": {
            "id": media.id,
            "media_key": media.media_key,
            "size": media.bytes.len(),
            "expires_after_secs": 86400,
            "image": image,
        }});
        self.media.push(media);
        Answer::json(200, answer)
    }

    pub(super) fn metadata(&mut self, user: usize, request: &Request) -> Answer {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return invalid_request("body", "The request body is not JSON.");
        };
        let id = body["id"].as_str().unwrap_or_default().to_owned();
        let owner = self.users[user].id.clone();
        let Some(media) = self.media.iter_mut().find(|m| m.id == id) else {
            return invalid_request("id", &format!("Media {id} does not exist."));
        };
        if media.owner_id != owner {
            return x_error(403, "Forbidden", "The media belongs to another user.");
        }
        let Some(alt) = body["metadata"]["alt_text"]["text"].as_str() else {
            return invalid_request("metadata.alt_text.text", "No alt text given.");
        };
        let length = alt.chars().count();
        if length > ALT_LIMIT {
            return invalid_request(
                "metadata.alt_text.text",
                &format!("Alt text is {length} characters; the limit is {ALT_LIMIT}."),
            );
        }
        media.alt_text = Some(alt.to_owned());
        Answer::json(
            200,
            json!({"data": {"id": id, "associated_metadata": {"alt_text": {"text": alt}}}}),
        )
    }
}

/// The image type of `bytes` and its size, from its header.
fn image(bytes: &[u8]) -> Option<(&'static str, Option<(u32, u32)>)> {
    let kind = match imagesize::image_type(bytes).ok()? {
        imagesize::ImageType::Png => "image/png",
        imagesize::ImageType::Jpeg => "image/jpeg",
        imagesize::ImageType::Gif => "image/gif",
        imagesize::ImageType::Webp => "image/webp",
        _ => return None,
    };
    let size = imagesize::blob_size(bytes)
        .ok()
        .map(|size| (size.width as u32, size.height as u32));
    Some((kind, size))
}
