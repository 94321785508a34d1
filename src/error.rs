//! One error type for the whole crate, with stable codes that cross the JS boundary unchanged.

/// Result alias used throughout the crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Everything that can go wrong, each with a stable [`Error::code`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The bytes are not a readable TFLite flatbuffer (empty, truncated, corrupt).
    #[error("not a valid TFLite model: {0}")]
    ModelFormat(String),
    /// A valid TFLite file, but not a MobileNet classifier this crate can map.
    #[error("unsupported model: {0}")]
    ModelUnsupported(String),
    /// Part of a model published as several files (a head without its backbone, or the reverse).
    #[error("incomplete model: {0}")]
    ModelIncomplete(String),
    /// A model file larger than the configured limit.
    #[error("model file is {size} bytes, over the limit of {limit} bytes")]
    ModelTooLarge {
        /// Size of the offered file.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The model's sha256 differs from the expected one.
    #[error("model integrity check failed: expected {expected}, got {actual}")]
    Integrity {
        /// The hash the caller asked for.
        expected: String,
        /// The hash of the bytes received.
        actual: String,
    },
    /// Image bytes that no supported decoder accepts (or that are corrupt).
    #[error("image could not be decoded: {0}")]
    ImageDecode(String),
    /// Pixel buffers or dimensions that are inconsistent or zero.
    #[error("invalid image input: {0}")]
    InputSize(String),
    /// An image whose decoded size would exceed the configured memory limit.
    #[error(
        "image too large: {width}x{height} needs {bytes} bytes decoded, over the limit of {limit} bytes"
    )]
    ImageTooLarge {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// Bytes the decoded image would need.
        bytes: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A label list that does not fit the model's classes.
    #[error("labels: {0}")]
    Labels(String),
    /// A caller-supplied option out of range.
    #[error("invalid argument: {0}")]
    Argument(String),
    /// A failure inside the tensor backend (a bug, never bad input).
    #[error("internal error: {0}")]
    Internal(String),
    /// Saved custom classes (or an export) made on another base model than the one given.
    #[error("model mismatch: {0}")]
    ModelMismatch(String),
    /// File-system or network failure while reading a model, labels or images.
    #[error("i/o: {0}")]
    Io(String),
}

impl Error {
    /// Stable machine-readable code, e.g. `E_MODEL_FORMAT`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ModelFormat(_) => "E_MODEL_FORMAT",
            Error::ModelUnsupported(_) => "E_MODEL_UNSUPPORTED",
            Error::ModelIncomplete(_) => "E_MODEL_INCOMPLETE",
            Error::ModelTooLarge { .. } => "E_MODEL_SIZE",
            Error::Integrity { .. } => "E_INTEGRITY",
            Error::ImageDecode(_) => "E_IMAGE_DECODE",
            Error::InputSize(_) => "E_INPUT_SIZE",
            Error::ImageTooLarge { .. } => "E_IMAGE_TOO_LARGE",
            Error::Labels(_) => "E_LABELS",
            Error::Argument(_) => "E_ARGUMENT",
            Error::Internal(_) => "E_INTERNAL",
            Error::Io(_) => "E_IO",
            Error::ModelMismatch(_) => "E_MODEL_MISMATCH",
        }
    }
}
