DROP TABLE notification_streams;
DROP TRIGGER notifications_announce_read ON notifications;
DROP TRIGGER notifications_announce_delete ON notifications;
DROP TRIGGER notifications_announce_insert ON notifications;
DROP FUNCTION notifications_announce_read();
DROP FUNCTION notifications_announce_delete();
DROP FUNCTION notifications_announce_insert();
DROP FUNCTION minifb_announce_notifications(text, text, bigint[]);
