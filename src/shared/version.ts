// The version both programs print (scanlogd and scanlogd-notify come in one package).

export const VERSION = '0.1.0';
