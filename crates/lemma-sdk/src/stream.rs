//! A stream that keeps its span open until it ends: see [`Started::wrap_stream`].

use std::borrow::Cow;
use std::fmt;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::span::{SpanHandle, Started};

/// What a wrapped stream's items contribute to the span: text for the output, or an error.
/// Implemented for strings and for `Result`s of them; implement it for your chunk type (or
/// map the stream to strings) to record other streams.
pub trait StreamItem {
    /// The text this item adds to the output, if any.
    fn text(&self) -> Option<&str>;

    /// Records this item's error on `span` if it is one, and says whether it was.
    fn record_error(&self, _span: &SpanHandle) -> bool {
        false
    }
}

impl StreamItem for String {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

impl StreamItem for &str {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

impl StreamItem for Cow<'_, str> {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

impl<T: StreamItem, E: fmt::Display + fmt::Debug> StreamItem for Result<T, E> {
    fn text(&self) -> Option<&str> {
        self.as_ref().ok().and_then(StreamItem::text)
    }

    fn record_error(&self, span: &SpanHandle) -> bool {
        match self {
            Ok(_) => false,
            Err(error) => {
                span.fail(error);
                true
            }
        }
    }
}

pin_project! {
    /// A stream whose span ends with it: the items' text becomes the output when the stream
    /// ends, the first `Err` item fails the span, and dropping the stream early ends the span
    /// with the text so far. Items pass through unchanged.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::pin::pin;
    /// use std::future::poll_fn;
    /// use futures_core::Stream;
    ///
    /// # struct Chunks(Vec<&'static str>);
    /// # impl Stream for Chunks {
    /// #     type Item = String;
    /// #     fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
    /// #         -> std::task::Poll<Option<String>> {
    /// #         std::task::Poll::Ready(if self.0.is_empty() { None } else { Some(self.0.remove(0).to_string()) })
    /// #     }
    /// # }
    /// # let model_stream = Chunks(vec!["Hel", "lo"]);
    /// let call = lemma_sdk::llm("gpt-4o").input_messages("Say hello").start();
    /// let mut stream = pin!(call.wrap_stream(model_stream));
    /// let mut shown = String::new();
    /// while let Some(chunk) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
    ///     shown.push_str(&chunk); // forward to the user as it arrives
    /// }
    /// assert_eq!(shown, "Hello"); // the span ended with "Hello" as the output
    /// # });
    /// ```
    pub struct TracedStream<S, H: AsRef<SpanHandle>> {
        #[pin]
        inner: S,
        started: Option<Started<H>>,
        text: String,
        saw_text: bool,
    }

    impl<S, H: AsRef<SpanHandle>> PinnedDrop for TracedStream<S, H> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(started) = this.started.take() {
                if *this.saw_text {
                    started.span().set_output(this.text.as_str());
                }
            }
        }
    }
}

impl<S, H: AsRef<SpanHandle>> TracedStream<S, H> {
    pub(crate) fn new(inner: S, started: Started<H>) -> Self {
        TracedStream {
            inner,
            started: Some(started),
            text: String::new(),
            saw_text: false,
        }
    }
}

impl<S, H> Stream for TracedStream<S, H>
where
    S: Stream,
    S::Item: StreamItem,
    H: AsRef<SpanHandle>,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let Some(started) = this.started.as_ref() else {
            return this.inner.poll_next(cx);
        };
        let poll = started.span().in_scope(|| this.inner.poll_next(cx));
        match &poll {
            Poll::Ready(Some(item)) => {
                if let Some(text) = item.text() {
                    this.text.push_str(text);
                    *this.saw_text = true;
                }
                if item.record_error(started.span()) {
                    // Ends the span; later items pass through untraced.
                    this.started.take();
                }
            }
            Poll::Ready(None) => {
                if let Some(started) = this.started.take() {
                    if *this.saw_text {
                        started.complete(this.text.as_str());
                    }
                }
            }
            Poll::Pending => {}
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
