//! Where a request's first line came from, and log event ids kept compactly.

/// Where the request's first line came from, to point people back at it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    pub log_group: std::sync::Arc<str>,
    pub log_stream: std::sync::Arc<str>,
    pub first_event_id: EventId,
    /// The AWS account whose log group it is (the subscription document's `owner`), when
    /// the input says: two accounts' APIs never share an incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<std::sync::Arc<str>>,
}

/// A log event's id, read and written as its text. CloudWatch Logs' ids are 56 decimal
/// digits: those are kept two to a byte in place, not in an allocation of their own
/// (one is kept per request, ~14,000 in a 1 MB access-log batch). Others are kept as text.
#[derive(Clone, PartialEq, Eq)]
pub struct EventId(EventIdRepr);

#[derive(Clone, PartialEq, Eq)]
enum EventIdRepr {
    /// Digit `i` in the low (even `i`) or high half of `packed[i / 2]`; the rest zero.
    Digits {
        len: u8,
        packed: [u8; EventId::PACKED],
    },
    Text(Box<str>),
}

impl EventId {
    const PACKED: usize = 30;

    pub fn new(id: &str) -> EventId {
        match Self::pack(id.as_bytes()) {
            Some(packed) => EventId(EventIdRepr::Digits {
                len: id.len() as u8,
                packed,
            }),
            None => EventId(EventIdRepr::Text(id.into())),
        }
    }

    /// The digits two to a byte, eight at a time (it runs for every request); None
    /// if `b` is not all digits or too long.
    fn pack(b: &[u8]) -> Option<[u8; Self::PACKED]> {
        if b.len() > 2 * Self::PACKED {
            return None;
        }
        let mut packed = [0; Self::PACKED];
        let words = b.chunks_exact(8);
        let tail = words.remainder();
        for (word, out) in words.zip(packed.chunks_exact_mut(4)) {
            let w = u64::from_le_bytes(word.try_into().ok()?);
            out.copy_from_slice(&pack8(w)?.to_le_bytes());
        }
        let done = b.len() - tail.len();
        for (k, d) in tail.iter().enumerate() {
            if !d.is_ascii_digit() {
                return None;
            }
            let i = done + k;
            packed[i / 2] |= (d - b'0') << (4 * (i % 2));
        }
        Some(packed)
    }

    /// The id's text (written into `buf` when it is packed).
    fn text<'s>(&'s self, buf: &'s mut [u8; 2 * Self::PACKED]) -> &'s str {
        match &self.0 {
            EventIdRepr::Text(t) => t,
            EventIdRepr::Digits { len, packed } => {
                let digits = &mut buf[..usize::from(*len)];
                for (i, c) in digits.iter_mut().enumerate() {
                    *c = b'0' + ((packed[i / 2] >> (4 * (i % 2))) & 0xf);
                }
                std::str::from_utf8(digits).unwrap_or_default()
            }
        }
    }
}

/// Eight ASCII digits (little-endian) as four bytes of two digits each, the even one in
/// the low half; None if one is not a digit.
fn pack8(w: u64) -> Option<u32> {
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    // Each byte 0..=15 if it was 0x30..=0x3f, then 0..=9 if adding 6 leaves its high half 0.
    let x = w ^ 0x3030_3030_3030_3030;
    if x & HIGH != 0 || (x + 0x0606_0606_0606_0606) & HIGH != 0 {
        return None;
    }
    // Byte 2k: digit 2k | digit 2k+1 << 4; then the even bytes side by side.
    let y = (x | x >> 4) & 0x00ff_00ff_00ff_00ff;
    let y = (y | y >> 8) & 0x0000_ffff_0000_ffff;
    Some((y | y >> 16) as u32)
}

impl Default for EventId {
    fn default() -> Self {
        EventId::new("")
    }
}

impl From<&str> for EventId {
    fn from(id: &str) -> Self {
        EventId::new(id)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text(&mut [0; 2 * Self::PACKED]))
    }
}

/// As the text's (a `String` before).
impl std::fmt::Debug for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.text(&mut [0; 2 * Self::PACKED]), f)
    }
}

impl serde::Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text(&mut [0; 2 * Self::PACKED]))
    }
}

impl<'de> serde::Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(EventId::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_read_back_as_they_came() {
        let ids = [
            "",
            "0",
            "31795601410057000000156531777501331085832270982058667731",
            "012345678901234567890123456789012345678901234567890123456789",
            "0123456789012345678901234567890123456789012345678901234567890",
            "e1",
            "12a",
        ];
        for id in ids {
            let e = EventId::new(id);
            assert_eq!(e.to_string(), id);
            assert_eq!(format!("{e:?}"), format!("{id:?}"));
            assert_eq!(
                serde_json::to_string(&e).unwrap(),
                serde_json::to_string(id).unwrap()
            );
        }
        assert_ne!(EventId::new("01"), EventId::new("1"));
        assert_ne!(EventId::new("1"), EventId::new("10"));
    }
}
