//! Parser for the header of a NumPy `.npy` file.
//!
//! The header is the text of a Python dict literal, for example
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (40, 640), }`, padded with spaces and
//! ended by a newline. This module parses the subset of Python literal syntax that NumPy
//! writes (strings, integers, booleans, `None`, tuples, lists and dicts) and extracts the
//! three keys that the format defines.

/// The contents of an `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NpyHeader {
    /// Element type: a type string such as `<f4`, or `None` for a structured (record) dtype,
    /// which NumPy writes as a list of fields.
    pub descr: Option<String>,
    /// True when the data is stored in column-major (Fortran) order.
    pub fortran_order: bool,
    /// Dimensions, outermost first.
    pub shape: Vec<u64>,
}

/// A parsed Python literal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Literal {
    Str(String),
    Int { negative: bool, magnitude: u64 },
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

/// Nesting limit, so that a crafted header cannot overflow the stack.
const MAX_DEPTH: usize = 32;

/// Parses header text into its three keys. Like NumPy, rejects a header with missing or
/// extra keys. Returns a description of the problem on failure.
pub(crate) fn parse_header(text: &str) -> Result<NpyHeader, String> {
    let mut parser = Parser { text, pos: 0 };
    let literal = parser.parse_value(0)?;
    parser.skip_whitespace();
    if parser.pos != text.len() {
        return Err(format!("unexpected text after the header dict at byte {}", parser.pos));
    }
    let Literal::Dict(entries) = literal else {
        return Err("the header is not a dict".into());
    };

    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    for (key, value) in entries {
        let Literal::Str(key) = key else {
            return Err(format!("header key {key:?} is not a string"));
        };
        match key.as_str() {
            "descr" => descr = Some(parse_descr(value)?),
            "fortran_order" => match value {
                Literal::Bool(flag) => fortran_order = Some(flag),
                other => return Err(format!("'fortran_order' is {other:?}, expected True or False")),
            },
            "shape" => shape = Some(parse_shape(value)?),
            other => return Err(format!("unexpected header key '{other}'")),
        }
    }

    match (descr, fortran_order, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(NpyHeader { descr, fortran_order, shape }),
        _ => Err("the header must contain the keys 'descr', 'fortran_order' and 'shape'".into()),
    }
}

fn parse_descr(value: Literal) -> Result<Option<String>, String> {
    match value {
        Literal::Str(descr) => Ok(Some(descr)),
        Literal::List(_) => Ok(None),
        other => Err(format!("'descr' is {other:?}, expected a type string")),
    }
}

fn parse_shape(value: Literal) -> Result<Vec<u64>, String> {
    let Literal::Tuple(items) = value else {
        return Err(format!("'shape' is {value:?}, expected a tuple of integers"));
    };
    items
        .into_iter()
        .map(|item| match item {
            Literal::Int { negative: false, magnitude } => Ok(magnitude),
            Literal::Int { negative: true, magnitude: 0 } => Ok(0),
            other => Err(format!("shape entry {other:?} is not a non-negative integer")),
        })
        .collect()
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_whitespace(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn expect(&mut self, expected: char) -> Result<(), String> {
        self.skip_whitespace();
        match self.peek() {
            Some(c) if c == expected => {
                self.pos += c.len_utf8();
                Ok(())
            }
            Some(c) => Err(format!("expected '{expected}' at byte {}, found '{c}'", self.pos)),
            None => Err(format!("expected '{expected}', found the end of the header")),
        }
    }

    fn parse_value(&mut self, depth: usize) -> Result<Literal, String> {
        if depth > MAX_DEPTH {
            return Err(format!("the header nests deeper than {MAX_DEPTH} levels"));
        }
        self.skip_whitespace();
        match self.peek() {
            None => Err("unexpected end of the header".into()),
            Some(quote @ ('\'' | '"')) => self.parse_string(quote),
            Some('(') => Ok(Literal::Tuple(self.parse_sequence(')', depth)?)),
            Some('[') => Ok(Literal::List(self.parse_sequence(']', depth)?)),
            Some('{') => self.parse_dict(depth),
            Some(c) if c == '-' || c.is_ascii_digit() => self.parse_int(),
            Some(c) if c.is_ascii_alphabetic() => self.parse_keyword(),
            Some(c) => Err(format!("unexpected character '{c}' at byte {}", self.pos)),
        }
    }

    /// Parses a quoted string. A backslash keeps the next character literally, which is
    /// enough for the quotes and backslashes that type strings could contain.
    fn parse_string(&mut self, quote: char) -> Result<Literal, String> {
        let start = self.pos;
        self.pos += quote.len_utf8();
        let text = self.text;
        let mut value = String::new();
        let mut chars = text[self.pos..].char_indices();
        while let Some((offset, c)) = chars.next() {
            if c == quote {
                self.pos += offset + c.len_utf8();
                return Ok(Literal::Str(value));
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                }
            } else {
                value.push(c);
            }
        }
        Err(format!("string starting at byte {start} is not closed"))
    }

    /// Parses a decimal integer, accepting the `L` suffix that Python 2 wrote for long ints.
    fn parse_int(&mut self) -> Result<Literal, String> {
        let start = self.pos;
        let negative = self.peek() == Some('-');
        if negative {
            self.pos += 1;
        }
        let digits_len = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if digits_len == 0 {
            return Err(format!("expected digits after '-' at byte {start}"));
        }
        let digits = &self.rest()[..digits_len];
        let magnitude =
            digits.parse::<u64>().map_err(|_| format!("integer {digits} at byte {start} does not fit in 64 bits"))?;
        self.pos += digits_len;
        if matches!(self.peek(), Some('L' | 'l')) {
            self.pos += 1;
        }
        Ok(Literal::Int { negative, magnitude })
    }

    fn parse_keyword(&mut self) -> Result<Literal, String> {
        let word_len = self.rest().bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        let word = &self.rest()[..word_len];
        let literal = match word {
            "True" => Literal::Bool(true),
            "False" => Literal::Bool(false),
            "None" => Literal::None,
            _ => return Err(format!("unexpected name '{word}' at byte {}", self.pos)),
        };
        self.pos += word_len;
        Ok(literal)
    }

    /// Parses the items of a tuple or list up to `close`, allowing a trailing comma.
    fn parse_sequence(&mut self, close: char, depth: usize) -> Result<Vec<Literal>, String> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_whitespace();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.parse_value(depth + 1)?);
            self.skip_whitespace();
            if self.peek() == Some(',') {
                self.pos += 1;
            } else {
                self.expect(close)?;
                return Ok(items);
            }
        }
    }

    fn parse_dict(&mut self, depth: usize) -> Result<Literal, String> {
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            self.skip_whitespace();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Literal::Dict(entries));
            }
            let key = self.parse_value(depth + 1)?;
            self.expect(':')?;
            let value = self.parse_value(depth + 1)?;
            entries.push((key, value));
            self.skip_whitespace();
            if self.peek() == Some(',') {
                self.pos += 1;
            } else {
                self.expect('}')?;
                return Ok(Literal::Dict(entries));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_written_by_numpy() {
        let text = "{'descr': '<f4', 'fortran_order': False, 'shape': (40, 640), }          \n";
        let header = parse_header(text).unwrap();
        assert_eq!(header.descr.as_deref(), Some("<f4"));
        assert!(!header.fortran_order);
        assert_eq!(header.shape, vec![40, 640]);
    }

    #[test]
    fn header_scalar_and_one_dim_shapes() {
        let scalar = parse_header("{'descr': '>f2', 'fortran_order': True, 'shape': ()}").unwrap();
        assert_eq!(scalar.shape, Vec::<u64>::new());
        assert!(scalar.fortran_order);

        let vector = parse_header("{'descr': '<f4', 'fortran_order': False, 'shape': (7,)}").unwrap();
        assert_eq!(vector.shape, vec![7]);
    }

    #[test]
    fn header_key_order_quotes_and_long_suffix() {
        let text = "{\"shape\": (3L, 0L), \"fortran_order\": False, \"descr\": \"<f4\"}";
        let header = parse_header(text).unwrap();
        assert_eq!(header.shape, vec![3, 0]);
        assert_eq!(header.descr.as_deref(), Some("<f4"));
    }

    #[test]
    fn header_structured_descr() {
        let text = "{'descr': [('a', '<f4'), ('b', '<i4', (2,))], 'fortran_order': False, 'shape': (2,)}";
        let header = parse_header(text).unwrap();
        assert_eq!(header.descr, None);
    }

    #[test]
    fn header_rejects_malformed() {
        let cases = [
            "",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} trailing",
            "['descr', '<f4']",
        ];
        for text in cases {
            assert!(parse_header(text).is_err(), "accepted {text:?}");
        }
    }

    #[test]
    fn header_deep_nesting_rejected() {
        let text = format!("{}{}", "(".repeat(10_000), ")".repeat(10_000));
        let error = parse_header(&text).unwrap_err();
        assert!(error.contains("deeper"), "{error}");
    }
}
