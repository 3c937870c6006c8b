import{S as i}from"./index-CnuEHUMK.js";const n=o=>["",...i].includes(o);export{n as i};
