//! Making an image fit a server's size limit (pure): scaled down, as PNG while that fits
//! (figures are mostly diagrams, which JPEG smears), else as JPEG, until it is within the
//! limit.

use image::{DynamicImage, ImageFormat};

/// The smallest width worth posting: a figure narrower than this is unreadable.
const MIN_WIDTH: u32 = 320;

/// `bytes` re-encoded within `limit` bytes, with its MIME type; or why it cannot be.
pub fn fit(bytes: &[u8], limit: u64) -> Result<(Vec<u8>, &'static str), String> {
    let image = image::load_from_memory(bytes).map_err(|e| format!("cannot read it: {e}"))?;
    let mut scale = ((limit as f64) / (bytes.len().max(1) as f64))
        .sqrt()
        .min(1.0);
    loop {
        let width = ((image.width() as f64) * scale).round() as u32;
        let height = ((image.height() as f64) * scale).round().max(1.0) as u32;
        if width < MIN_WIDTH.min(image.width()) {
            return Err(format!(
                "even at {MIN_WIDTH} pixels wide it is over the {limit} bytes allowed"
            ));
        }
        let scaled = if scale < 1.0 {
            image.resize(width, height, image::imageops::FilterType::Triangle)
        } else {
            image.clone()
        };
        let png = encode(&scaled, ImageFormat::Png)?;
        if png.len() as u64 <= limit {
            return Ok((png, "image/png"));
        }
        // JPEG has no transparency: put the figure on white, as the blog shows it.
        let flat = DynamicImage::ImageRgb8(flatten(&scaled));
        let jpeg = encode(&flat, ImageFormat::Jpeg)?;
        if jpeg.len() as u64 <= limit {
            return Ok((jpeg, "image/jpeg"));
        }
        scale *= 0.8;
    }
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, String> {
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, format)
        .map_err(|e| format!("cannot encode it: {e}"))?;
    Ok(out.into_inner())
}

fn flatten(image: &DynamicImage) -> image::RgbImage {
    let rgba = image.to_rgba8();
    let mut rgb = image::RgbImage::new(rgba.width(), rgba.height());
    for (x, y, pixel) in rgba.enumerate_pixels() {
        let [r, g, b, a] = pixel.0;
        let over = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        rgb.put_pixel(x, y, image::Rgb([over(r), over(g), over(b)]));
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A noisy image (noise does not compress), `width` × `height`, as PNG.
    fn noisy_png(width: u32, height: u32) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        let image = image::RgbaImage::from_fn(width, height, |_, _| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let [r, g, b, _] = state.to_le_bytes();
            image::Rgba([r, g, b, 255])
        });
        encode(&DynamicImage::ImageRgba8(image), ImageFormat::Png).unwrap()
    }

    #[test]
    fn an_image_over_the_limit_comes_back_within_it_and_still_an_image() {
        let big = noisy_png(1200, 800);
        assert!(big.len() > 1_000_000, "{}", big.len());
        let (small, mime) = fit(&big, 1_000_000).unwrap();
        assert!(small.len() <= 1_000_000, "{}", small.len());
        let decoded = image::load_from_memory(&small).unwrap();
        assert!(decoded.width() >= MIN_WIDTH && decoded.width() <= 1200);
        assert!(mime == "image/png" || mime == "image/jpeg");
    }

    #[test]
    fn what_cannot_be_read_or_made_small_enough_says_so() {
        assert!(fit(b"not an image", 1_000)
            .unwrap_err()
            .contains("cannot read"));
        let big = noisy_png(400, 400);
        assert!(fit(&big, 2_000).unwrap_err().contains("pixels wide"));
    }
}
