//! `hookline verify`: one request's signature, checked offline.
