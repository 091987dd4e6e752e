//! Settings for chosen tensors (`hyperc encode --tensor PATTERN=SETTING`): more bits for
//! a sensitive layer, fewer for a large tolerant one, or float32 for one that must stay
//! exact.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::codec::Mode;

/// The setting of the tensors whose names match [`pattern`](TensorSetting::pattern).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSetting {
    /// A tensor name as `hyperc inspect` lists it, where `*` matches any run of characters.
    pub pattern: String,
    /// The mode of the matching tensors: [`Mode::Bits`] or [`Mode::Lossless`].
    pub mode: Mode,
}

/// Failure to read a `PATTERN=SETTING` argument. The message gives the reason, not the
/// argument, which clap already quotes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}; write PATTERN=SETTING, for example 'conv2d/weights=6' or 'dense*=raw'")]
pub struct SettingParseError {
    reason: String,
}

impl FromStr for TensorSetting {
    type Err = SettingParseError;

    fn from_str(argument: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| SettingParseError { reason };
        let (pattern, setting) = argument.rsplit_once('=').ok_or_else(|| fail("there is no '='".into()))?;
        if pattern.is_empty() {
            return Err(fail("the pattern before '=' is empty".into()));
        }
        let mode = match setting {
            "raw" => Mode::Lossless,
            bits => match bits.parse::<u8>() {
                Ok(bits @ 1..=8) => Mode::Bits(bits),
                _ => return Err(fail(format!("the setting {setting:?} is neither index bits from 1 to 8 nor 'raw'"))),
            },
        };
        Ok(TensorSetting { pattern: pattern.to_string(), mode })
    }
}

impl fmt::Display for TensorSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            Mode::Bits(bits) => write!(f, "{}={bits}", self.pattern),
            Mode::Lossless => write!(f, "{}=raw", self.pattern),
            // Not a value of the option, but a caller may build such a setting.
            Mode::Preset(preset) => write!(f, "{}={preset:?}", self.pattern),
        }
    }
}

impl TensorSetting {
    /// Returns true when `name` matches the pattern as a whole.
    pub fn matches(&self, name: &str) -> bool {
        glob_matches(self.pattern.as_bytes(), name.as_bytes())
    }
}

/// Matches `text` against `pattern`, where `*` stands for any run of bytes. Greedy with
/// backtracking to the last `*`, so it takes time linear in the product of the lengths
/// at worst.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Position after the last `*` seen, and where in `text` it started matching.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p + 1, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((after, start)) = star {
            // Let the last `*` take one more byte and try again from there.
            p = after;
            t = start + 1;
            star = Some((after, start + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Returns the position in `settings` of the last one that matches `name`, which decides
/// its mode, if one does.
pub fn deciding(settings: &[TensorSetting], name: &str) -> Option<usize> {
    settings.iter().rposition(|s| s.matches(name))
}

/// Returns the mode the last of `settings` that matches `name` sets, if one does.
pub fn chosen_mode(settings: &[TensorSetting], name: &str) -> Option<Mode> {
    deciding(settings, name).map(|i| settings[i].mode)
}

/// Returns the first of `settings` that matches none of `names`, most likely a misspelt
/// name.
pub fn unmatched<'a>(settings: &'a [TensorSetting], names: &[&str]) -> Option<&'a TensorSetting> {
    settings.iter().find(|s| !names.iter().any(|name| s.matches(name)))
}

/// Fails when one of `settings` matches none of `names`, the tensors of the file at `path`,
/// and lists the names in the error.
pub fn check_all_match(settings: &[TensorSetting], names: &[&str], path: &Path) -> anyhow::Result<()> {
    if let Some(setting) = unmatched(settings, names) {
        anyhow::bail!(
            "{}: --tensor {setting} matches no tensor; the names are as `hyperc inspect` lists them: {}",
            path.display(),
            names.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(argument: &str) -> TensorSetting {
        argument.parse().unwrap()
    }

    #[test]
    fn arguments_parse_into_pattern_and_mode() {
        assert_eq!(setting("conv/weights=6"), TensorSetting { pattern: "conv/weights".into(), mode: Mode::Bits(6) });
        assert_eq!(setting("dense*=raw").mode, Mode::Lossless);
        // The last '=' separates the setting, so a name may contain one.
        assert_eq!(setting("a=b=3").pattern, "a=b");
        for bad in ["conv", "=4", "conv=0", "conv=9", "conv=four", "conv="] {
            let error = bad.parse::<TensorSetting>().unwrap_err().to_string();
            assert!(error.contains("write PATTERN=SETTING"), "{bad}: {error}");
        }
    }

    #[test]
    fn display_round_trips() {
        for argument in ["conv/weights=6", "dense*=raw", "x=1"] {
            assert_eq!(setting(argument).to_string(), argument);
        }
    }

    #[test]
    fn star_matches_any_run() {
        let cases = [
            ("dense_1/weights", "dense_1/weights", true),
            ("dense_1/weights", "dense_1/weights2", false),
            ("dense_1/*", "dense_1/weights", true),
            ("dense_1/*", "dense_1/", true),
            ("dense_1/*", "dense_2/weights", false),
            ("*/weights", "conv2d/weights", true),
            ("*/weights", "conv2d/bias", false),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a*bc", "abcbc", true),
            ("*ab", "aab", true),
            ("**a", "ba", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(glob_matches(pattern.as_bytes(), name.as_bytes()), expected, "{pattern} ~ {name}");
        }
    }

    #[test]
    fn star_matching_agrees_with_brute_force() {
        // Reference: a pattern matches when some split of the text fits it piece by piece.
        fn reference(pattern: &[u8], text: &[u8]) -> bool {
            match pattern.split_first() {
                None => text.is_empty(),
                Some((b'*', rest)) => (0..=text.len()).any(|i| reference(rest, &text[i..])),
                Some((&c, rest)) => text.first() == Some(&c) && reference(rest, &text[1..]),
            }
        }
        let alphabet = [b'a', b'b', b'*'];
        let words = |len: usize, symbols: &[u8]| -> Vec<Vec<u8>> {
            (0..symbols.len().pow(len as u32))
                .map(|mut n| {
                    (0..len)
                        .map(|_| {
                            let c = symbols[n % symbols.len()];
                            n /= symbols.len();
                            c
                        })
                        .collect()
                })
                .collect()
        };
        for pattern_len in 0..=4 {
            for pattern in words(pattern_len, &alphabet) {
                for text_len in 0..=5 {
                    for text in words(text_len, &alphabet[..2]) {
                        assert_eq!(
                            glob_matches(&pattern, &text),
                            reference(&pattern, &text),
                            "{:?} ~ {:?}",
                            String::from_utf8_lossy(&pattern),
                            String::from_utf8_lossy(&text)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn last_matching_setting_wins() {
        let settings = [setting("*=6"), setting("dense_2/*=raw"), setting("other=3")];
        assert_eq!(chosen_mode(&settings, "dense_1/weights"), Some(Mode::Bits(6)));
        assert_eq!(chosen_mode(&settings, "dense_2/weights"), Some(Mode::Lossless));
        assert_eq!(chosen_mode(&settings[1..], "dense_1/weights"), None);
        assert_eq!(deciding(&settings, "dense_2/bias"), Some(1));
        assert_eq!(deciding(&settings, "other"), Some(2));
    }

    #[test]
    fn unmatched_setting_is_found() {
        let settings = [setting("dense_1/*=6"), setting("dense_3/weights=raw")];
        let names = ["dense_1/weights", "dense_1/bias", "dense_2/weights"];
        assert_eq!(unmatched(&settings, &names), Some(&settings[1]));
        assert_eq!(unmatched(&settings[..1], &names), None);
    }
}
