DROP TRIGGER notifications_count_unread_delete ON notifications;
DROP TRIGGER notifications_count_unread_update ON notifications;
DROP TRIGGER notifications_count_unread_insert ON notifications;
DROP FUNCTION users_count_unread_notifications();
ALTER TABLE users DROP COLUMN unread_notifications;
