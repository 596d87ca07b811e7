//! Contract net's registration.

use super::{ContractNet, ContractNetConfig, ContractNetMonitor};
use crate::protocols::Spec;

/// The FIPA contract net and its baselines.
pub struct ContractNetSpec;

impl Spec for ContractNetSpec {
    const NAME: &'static str = "contract-net";
    const SUMMARY: &'static str = "FIPA Contract Net (SC00029H; Smith 1980) with leases, re-announcement and dispatcher baselines";
    type Node = ContractNet;
    type Config = ContractNetConfig;
    type Monitor = ContractNetMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::ContractNetFlags;

    fn validate(cfg: &ContractNetConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)?;
        let contractors = cfg.contractors(nodes);
        let covered = contractors + cfg.caps_per_contractor - cfg.task_caps.min(cfg.caps_per_contractor);
        if cfg.capabilities > 0 && covered < cfg.capabilities {
            return Err(format!(
                "contract-net.capabilities = {} out of range (accepted: at most contractors + caps_per_contractor - task_caps = {covered}, so that some contractor can run every task)",
                cfg.capabilities,
            ));
        }
        Ok(())
    }
}
