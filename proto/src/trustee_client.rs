//! The client the coordinator (and an auditor) uses: the generated tonic client, with
//! every answer decoded and checked into the committee's types.

use crate::committee::v1 as pb;
use crate::convert::{ConvertError, TrusteeInfo};
use crate::tls::MutualTls;
use sealgrid_committee::trustee::{
    DisclosureRequest, DisclosureResponse, FinalizeRequest, FinalizeResponse,
    PartialDecryptRequest, PartialDecryptResponse, SettlementDecryptRequest,
    SettlementDecryptResponse, SignRequest, SignResponse,
};
use tonic::transport::{Channel, Endpoint};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Could not connect.
    #[error("cannot connect to the trustee: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// The trustee refused, or the call failed.
    #[error("trustee answered {}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    /// The answer does not decode.
    #[error("malformed answer: {0}")]
    Malformed(#[from] ConvertError),
}

impl ClientError {
    /// The gRPC code of a refusal.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            ClientError::Status(s) => Some(s.code()),
            _ => None,
        }
    }
}

/// The largest answer a client decodes: a disclosure or partial decryption of
/// `2K + 1` slots is a few kilobytes for any grid a market uses.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A connection to one trustee.
#[derive(Debug, Clone)]
pub struct TrusteeClient {
    inner: pb::trustee_client::TrusteeClient<Channel>,
}

impl TrusteeClient {
    /// Connects to `https://host:port` over mutual TLS: presents `tls`'s certificate and
    /// accepts only a trustee whose certificate `tls`'s CA signed for `host`.
    pub async fn connect(uri: String, tls: &MutualTls) -> Result<TrusteeClient, ClientError> {
        let channel = Endpoint::new(uri)?
            .tls_config(tls.client())?
            .connect()
            .await?;
        Ok(TrusteeClient::new(channel))
    }

    /// Connects to `http://host:port` in plaintext: no server authentication, no client
    /// certificate, so a trustee configured as it should be refuses. For development
    /// only (a trustee started with `--insecure-plaintext`).
    pub async fn connect_insecure_plaintext(uri: String) -> Result<TrusteeClient, ClientError> {
        Ok(TrusteeClient {
            inner: pb::trustee_client::TrusteeClient::connect(uri).await?,
        })
    }

    /// Over a channel made elsewhere.
    pub fn new(channel: Channel) -> TrusteeClient {
        TrusteeClient {
            inner: pb::trustee_client::TrusteeClient::new(channel)
                .max_decoding_message_size(MAX_ANSWER_BYTES),
        }
    }

    /// The raw generated client, e.g. to send a hand-made message.
    pub fn raw(&mut self) -> &mut pb::trustee_client::TrusteeClient<Channel> {
        &mut self.inner
    }

    /// The trustee's id, address and verification keys.
    pub async fn info(&mut self) -> Result<TrusteeInfo, ClientError> {
        let r = self.inner.get_info(pb::GetInfoRequest {}).await?;
        Ok(TrusteeInfo::try_from(r.get_ref())?)
    }

    /// Its partial decryption of a round's aggregate.
    pub async fn partial_decrypt(
        &mut self,
        req: &PartialDecryptRequest,
    ) -> Result<PartialDecryptResponse, ClientError> {
        let r = self
            .inner
            .partial_decrypt(pb::PartialDecryptRequest::from(req))
            .await?;
        Ok(PartialDecryptResponse::try_from(r.get_ref())?)
    }

    /// Its signature on a result.
    pub async fn sign(&mut self, req: &SignRequest) -> Result<SignResponse, ClientError> {
        let r = self.inner.sign(pb::SignRequest::from(req)).await?;
        Ok(SignResponse::try_from(r.get_ref())?)
    }

    /// Its shares of one bid, for an auditor.
    pub async fn disclose(
        &mut self,
        req: &DisclosureRequest,
    ) -> Result<DisclosureResponse, ClientError> {
        let r = self.inner.disclose(pb::DiscloseRequest::from(req)).await?;
        Ok(DisclosureResponse::try_from(r.get_ref())?)
    }

    /// Its partial decryption of a round's settlement (flow totals, defaulted locks).
    pub async fn partial_decrypt_settlement(
        &mut self,
        req: &SettlementDecryptRequest,
    ) -> Result<SettlementDecryptResponse, ClientError> {
        let r = self
            .inner
            .partial_decrypt_settlement(pb::PartialDecryptSettlementRequest::from(req))
            .await?;
        Ok(SettlementDecryptResponse::try_from(r.get_ref())?)
    }

    /// Its signature on a round's finalization.
    pub async fn sign_finalize(
        &mut self,
        req: &FinalizeRequest,
    ) -> Result<FinalizeResponse, ClientError> {
        let r = self
            .inner
            .sign_finalize(pb::SignFinalizeRequest::from(req))
            .await?;
        Ok(FinalizeResponse::try_from(r.get_ref())?)
    }
}
