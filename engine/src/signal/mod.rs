//! Order-book signals: OBI over depths, weighted OBI, EWMA/z-score, microprice, OFI.
