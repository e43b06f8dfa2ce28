//! The eUICC's pending notifications (SGP.22 v2.5 §3.5): ES10b.ListNotification (§5.7.9),
//! ES10b.RetrieveNotificationsList (§5.7.10) and ES10b.RemoveNotificationFromList (§5.7.11).
//! So far only ProfileInstallationResults are queued (by LoadBoundProfilePackage, §5.7.6).

use rsp_proto::codec::sgp22::{NotificationMetadata, PendingNotification};

use super::{Es10Error, SoftEuicc};

impl SoftEuicc {
    /// ES10b.ListNotification: the metadata of every pending notification, oldest first.
    pub fn list_notifications(&self) -> Vec<NotificationMetadata> {
        self.notifications.iter().map(|n| n.metadata.clone()).collect()
    }

    /// ES10b.RetrieveNotificationsList: the pending notifications (all, or the one with `seq_number`), typed.
    pub fn retrieve_notifications(&self, seq_number: Option<i64>) -> Vec<PendingNotification> {
        self.notifications
            .iter()
            .filter(|n| seq_number.is_none_or(|s| s == n.seq_number))
            .map(|n| n.pending_notification.clone())
            .collect()
    }

    /// The DER of the pending notification `seq_number` (`BF37…` for a ProfileInstallationResult): what an LPA
    /// base64-encodes into ES9+.HandleNotification's `pendingNotification`.
    pub fn pending_notification_der(&self, seq_number: i64) -> Option<&[u8]> {
        self.notifications.iter().find(|n| n.seq_number == seq_number).map(|n| n.der.as_slice())
    }

    /// ES10b.RemoveNotificationFromList: deletes notification `seq_number` once the LPA has delivered it.
    pub fn remove_notification(&mut self, seq_number: i64) -> Result<(), Es10Error> {
        let before = self.notifications.len();
        self.notifications.retain(|n| n.seq_number != seq_number);
        if self.notifications.len() == before {
            return Err(Es10Error::NothingToDelete { seq_number });
        }
        Ok(())
    }
}
