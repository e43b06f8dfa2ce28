//! rspd as an HTTP client: [`es9`], the ES9+ client the eIM relay uses towards an external SM-DP+ (SGP.32 v1.2
//! §3.2.3). (The ES2+ HandleDownloadProgressInfo client is part of its delivery job, `jobs::progress_delivery`.)

pub mod es9;
