//! The serde side: a `Deserializer` over the scanner's nodes, with scalars typed the way
//! `serde-saphyr` types them (and a give-up wherever that is not certain).

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::GiveUp;
use super::scan::{Line, Node, Place, Scalar, Scanner};

type Result<T> = std::result::Result<T, GiveUp>;

/// Deeper nesting than this is left to the full parser (Kubernetes objects stay far below).
const MAX_DEPTH: usize = 64;

/// Past this many keys a mapping's duplicate check uses a hash set instead of a scan.
const LINEAR_KEY_CHECK: usize = 32;

/// Every non-empty document of `text`.
pub(super) fn documents<'de, T: Deserialize<'de>>(text: &'de str) -> Result<Vec<T>> {
    let mut reader = Reader {
        scan: Scanner::new(text),
        depth: 0,
        keys: Vec::new(),
    };
    let mut out = Vec::new();
    loop {
        match reader.scan.next_line()? {
            Line::End => return Ok(out),
            Line::Marker => {
                reader.scan.take_marker()?;
            }
            Line::Content(0) => {
                let node = reader.scan.root()?;
                out.push(T::deserialize(NodeDe {
                    reader: &mut reader,
                    node,
                })?);
                if let Line::Content(_) = reader.scan.next_line()? {
                    return Err(GiveUp);
                }
            }
            // An indented document root: valid, but left to the full parser.
            Line::Content(_) => return Err(GiveUp),
        }
    }
}

struct Reader<'de> {
    scan: Scanner<'de>,
    depth: usize,
    /// The keys of the mappings being read, innermost last, for the duplicate check.
    keys: Vec<Cow<'de, str>>,
}

impl Reader<'_> {
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        Ok(())
    }
}

/// A node read (or begun) by the scanner.
struct NodeDe<'a, 'de> {
    reader: &'a mut Reader<'de>,
    node: Node<'de>,
}

impl<'de> NodeDe<'_, 'de> {
    fn any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.node {
            Node::Scalar(scalar) => ScalarDe(scalar).deserialize_any(visitor),
            Node::Mapping { indent, first_key } => {
                self.reader.enter()?;
                let keys_from = self.reader.keys.len();
                let mut map = BlockMap {
                    reader: &mut *self.reader,
                    indent,
                    pending_key: Some(first_key),
                    keys_from,
                    key_set: None,
                    done: false,
                };
                let value = visitor.visit_map(&mut map)?;
                if !map.done {
                    return Err(GiveUp);
                }
                self.reader.keys.truncate(keys_from);
                self.reader.depth -= 1;
                Ok(value)
            }
            Node::Sequence { indent } => {
                self.reader.enter()?;
                let mut seq = BlockSeq {
                    reader: &mut *self.reader,
                    indent,
                    first: true,
                    done: false,
                };
                let value = visitor.visit_seq(&mut seq)?;
                if !seq.done {
                    return Err(GiveUp);
                }
                self.reader.depth -= 1;
                Ok(value)
            }
            Node::EmptyMapping => visitor.visit_map(Empty),
            Node::EmptySequence => visitor.visit_seq(Empty),
        }
    }

    fn scalar(self) -> Result<ScalarDe<'de>> {
        match self.node {
            Node::Scalar(scalar) => Ok(ScalarDe(scalar)),
            _ => Err(GiveUp),
        }
    }

    fn is_null(&self) -> bool {
        matches!(&self.node, Node::Scalar(Scalar::Plain(s)) if is_null(s))
    }
}

/// Methods that want a scalar: handed to [`ScalarDe`].
macro_rules! scalar_methods {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                self.scalar()?.$method(visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for NodeDe<'_, 'de> {
    type Error = GiveUp;

    scalar_methods! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32
        deserialize_f64 deserialize_char deserialize_str deserialize_string deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_identifier
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.scalar()?.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.node {
            Node::Sequence { .. } | Node::EmptySequence => self.any(visitor),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.node {
            Node::Mapping { .. } | Node::EmptyMapping => self.any(visitor),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // Read (and type-check) like any other node: what the full parser would reject in
        // an ignored field must not pass here.
        self.any(visitor)
    }
}

/// A block mapping's entries.
struct BlockMap<'a, 'de> {
    reader: &'a mut Reader<'de>,
    indent: usize,
    pending_key: Option<Scalar<'de>>,
    /// Where this mapping's keys start in the reader's key stack.
    keys_from: usize,
    /// This mapping's keys once there are many.
    key_set: Option<HashSet<Cow<'de, str>>>,
    done: bool,
}

impl<'de> BlockMap<'_, 'de> {
    fn next_key(&mut self) -> Result<Option<Scalar<'de>>> {
        if let Some(key) = self.pending_key.take() {
            return Ok(Some(key));
        }
        if self.done {
            return Ok(None);
        }
        match self.reader.scan.next_line()? {
            Line::Content(indent) if indent == self.indent => {
                self.reader.scan.advance(indent);
                self.reader.scan.key()?.map(Some).ok_or(GiveUp)
            }
            Line::Content(indent) if indent > self.indent => Err(GiveUp),
            _ => {
                self.done = true;
                Ok(None)
            }
        }
    }

    /// Gives up on a key this mapping already has.
    fn check_unique(&mut self, key: Cow<'de, str>) -> Result<()> {
        if let Some(set) = &mut self.key_set {
            return if set.insert(key) { Ok(()) } else { Err(GiveUp) };
        }
        let keys = &mut self.reader.keys;
        let mine = keys.get(self.keys_from..).unwrap_or_default();
        if mine.contains(&key) {
            return Err(GiveUp);
        }
        if mine.len() < LINEAR_KEY_CHECK {
            keys.push(key);
        } else {
            let mut set: HashSet<_> = keys.drain(self.keys_from..).collect();
            set.insert(key);
            self.key_set = Some(set);
        }
        Ok(())
    }
}

impl<'de> MapAccess<'de> for BlockMap<'_, 'de> {
    type Error = GiveUp;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some(key) = self.next_key()? else {
            return Ok(None);
        };
        let text = match &key {
            Scalar::Plain(s) | Scalar::Text(s) => s.clone(),
        };
        self.check_unique(text)?;
        seed.deserialize(ScalarDe(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let node = self.reader.scan.value(self.indent, Place::MapValue)?;
        seed.deserialize(NodeDe {
            reader: &mut *self.reader,
            node,
        })
    }
}

/// A block sequence's entries.
struct BlockSeq<'a, 'de> {
    reader: &'a mut Reader<'de>,
    indent: usize,
    first: bool,
    done: bool,
}

impl<'de> SeqAccess<'de> for BlockSeq<'_, 'de> {
    type Error = GiveUp;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.done {
            return Ok(None);
        }
        if self.first {
            self.first = false;
        } else {
            match self.reader.scan.next_line()? {
                Line::Content(indent)
                    if indent == self.indent && self.reader.scan.entry_after(indent) =>
                {
                    self.reader.scan.advance(indent);
                }
                Line::Content(indent) if indent > self.indent => return Err(GiveUp),
                _ => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
        // Past the `-`.
        self.reader.scan.advance(1);
        let node = self.reader.scan.value(self.indent, Place::SeqEntry)?;
        seed.deserialize(NodeDe {
            reader: &mut *self.reader,
            node,
        })
        .map(Some)
    }
}

/// `{}` and `[]`.
struct Empty;

impl<'de> MapAccess<'de> for Empty {
    type Error = GiveUp;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _seed: K) -> Result<Option<K::Value>> {
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, _seed: V) -> Result<V::Value> {
        Err(GiveUp)
    }
}

impl<'de> SeqAccess<'de> for Empty {
    type Error = GiveUp;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, _seed: T) -> Result<Option<T::Value>> {
        Ok(None)
    }
}

/// A scalar (or a key), typed by what the caller asks for.
struct ScalarDe<'de>(Scalar<'de>);

impl<'de> ScalarDe<'de> {
    /// The text of a plain scalar that is a decimal number in its simplest spelling.
    fn plain_number(&self) -> Option<&str> {
        match &self.0 {
            Scalar::Plain(s) if is_simple_int(s) || is_simple_float(s) => Some(s),
            _ => None,
        }
    }

    fn plain_int(&self) -> Result<&str> {
        match &self.0 {
            Scalar::Plain(s) if is_simple_int(s) => Ok(s),
            _ => Err(GiveUp),
        }
    }

    /// The scalar as a string; a plain null is not one.
    fn text(self) -> Result<Cow<'de, str>> {
        match self.0 {
            Scalar::Text(s) => Ok(s),
            Scalar::Plain(s) if !is_null(&s) => Ok(s),
            Scalar::Plain(_) => Err(GiveUp),
        }
    }
}

fn visit_text<'de, V: Visitor<'de>>(text: Cow<'de, str>, visitor: V) -> Result<V::Value> {
    match text {
        Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
        Cow::Owned(s) => visitor.visit_string(s),
    }
}

macro_rules! int_methods {
    ($($method:ident $ty:ty => $visit:ident,)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                let n: $ty = self.plain_int()?.parse().map_err(|_| GiveUp)?;
                visitor.$visit(n)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for ScalarDe<'de> {
    type Error = GiveUp;

    int_methods! {
        deserialize_i8 i8 => visit_i8,
        deserialize_i16 i16 => visit_i16,
        deserialize_i32 i32 => visit_i32,
        deserialize_i64 i64 => visit_i64,
        deserialize_u8 u8 => visit_u8,
        deserialize_u16 u16 => visit_u16,
        deserialize_u32 u32 => visit_u32,
        deserialize_u64 u64 => visit_u64,
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let s = match self.0 {
            Scalar::Text(s) => return visit_text(s, visitor),
            Scalar::Plain(s) => s,
        };
        if is_null(&s) {
            return visitor.visit_unit();
        }
        if let Some(b) = bool_of(&s) {
            return visitor.visit_bool(b);
        }
        if is_simple_int(&s) {
            if let Ok(n) = s.parse::<i64>() {
                return visitor.visit_i64(n);
            }
            return match s.parse::<u64>() {
                Ok(n) => visitor.visit_u64(n),
                Err(_) => Err(GiveUp),
            };
        }
        if is_simple_float(&s) {
            let f: f64 = s.parse().map_err(|_| GiveUp)?;
            return visitor.visit_f64(f);
        }
        if could_be_non_string(&s) {
            return Err(GiveUp);
        }
        visit_text(s, visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match &self.0 {
            Scalar::Plain(s) => visitor.visit_bool(bool_of(s).ok_or(GiveUp)?),
            Scalar::Text(_) => Err(GiveUp),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let f: f64 = self
            .plain_number()
            .ok_or(GiveUp)?
            .parse()
            .map_err(|_| GiveUp)?;
        visitor.visit_f64(f)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visit_text(self.text()?, visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visit_text(self.text()?, visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visit_text(self.text()?, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match &self.0 {
            Scalar::Plain(s) if is_null(s) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match &self.0 {
            Scalar::Plain(s) if is_null(s) => visitor.visit_unit(),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_char<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value> {
        Err(GiveUp)
    }
}

fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

fn bool_of(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `0`, `42`, `-7`: no sign, leading zeros, underscores or other bases.
fn is_simple_int(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    match digits.as_bytes() {
        [b'0'] => true,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// `1.5`, `-0.25`: a simple integer part, a dot and digits (no exponent).
fn is_simple_float(s: &str) -> bool {
    s.split_once('.').is_some_and(|(int, frac)| {
        is_simple_int(int) && !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit())
    })
}

/// A plain scalar that some YAML reading might take for something other than a string:
/// other spellings of booleans and nulls (YAML 1.1's `yes`, `off`, `y`), numbers with signs,
/// leading zeros, underscores, exponents or other bases, infinities and NaN. Plain scalars
/// that are surely strings (`100m`, `2Gi`, `10.0.0.1`, `nginx:1.25`) are not.
fn could_be_non_string(s: &str) -> bool {
    const WORDS: [&str; 10] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ];
    if WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        return true;
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if let Some(word) = unsigned.strip_prefix('.')
        && (word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("nan"))
    {
        return true;
    }
    let radix = match unsigned.get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("0x") => 16,
        Some("0o") => 8,
        Some("0b") => 2,
        _ => 0,
    };
    if radix != 0 {
        // `0x1F` is a number; `0b7c1d2e-…` (a uid) is not.
        let digits = unsigned.get(2..).unwrap_or_default();
        return !digits.is_empty() && digits.chars().all(|c| c == '_' || c.is_digit(radix));
    }
    if s.contains('_') {
        s.replace('_', "").parse::<f64>().is_ok()
    } else {
        s.parse::<f64>().is_ok()
    }
}
